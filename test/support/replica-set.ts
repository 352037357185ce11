// Several real Mend replicas (`mend serve` child processes, each with its own data dir) on one fresh
// PostgreSQL database, a side-effect tool server that counts calls by Idempotency-Key, and direct SQL for
// the assertions. Used by the replicas e2e test, the kill and pause chaos tests and the bench.
import { createServer, type Server } from "node:http";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startService, type ServiceProcess } from "./service-process.ts";
import { freshDatabase, postgresServer, type PostgresServer } from "./postgres-server.ts";
import { call } from "./http-json.ts";

const REPO_POLICIES = new URL("../../policies", import.meta.url).pathname;

/** Calls of the `effect` tool, by Idempotency-Key (run/step/seq): a re-executed attempt calls again. */
export interface EffectServer {
  endpoint: string;
  calls: Map<string, number>;
  close(): Promise<void>;
}

/** A loopback HTTP tool: answers `{ n, nonce }` (a fresh nonce per call, so a replay is told from a re-run). */
export async function startEffectServer(delayMs = 0): Promise<EffectServer> {
  const calls = new Map<string, number>();
  let nonce = 0;
  const server: Server = createServer((req, res) => {
    const key = String(req.headers["idempotency-key"]);
    calls.set(key, (calls.get(key) ?? 0) + 1);
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const reply = () => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ args: body ? (JSON.parse(body) as unknown) : null, nonce: ++nonce }));
      };
      if (delayMs > 0) setTimeout(reply, delayMs);
      else reply();
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}/effect`,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface ReplicaSetOptions {
  replicas: number;
  /** Extra environment of every replica (LLM, policies...). */
  env?: Record<string, string>;
  /** Policy files (name → YAML) beside a copy of the repository's policies. */
  policies?: Record<string, string>;
}

/** N replicas on one database; a killed slot is restarted with `start(i)`. */
export interface ReplicaSet {
  dbUrl: string;
  /** The current process of each slot (null: stopped). */
  slots: (ServiceProcess | null)[];
  env: Record<string, string>;
  start(i: number): Promise<ServiceProcess>;
  /** Stops slot i with `signal` and waits for the process to be gone. */
  stop(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** The running replicas' URLs. */
  urls(): string[];
  /** The next running replica, round-robin. */
  next(): ServiceProcess;
  /** One statement on the shared database (assertions). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Kills every replica and drops the database (safe to call twice, and after a failure). */
  close(): Promise<void>;
}

/** The reason PostgreSQL cannot be had (the suites skip with it), or the server. */
export async function replicaServer(): Promise<{ server: PostgresServer | null; reason?: string }> {
  const avail = await postgresServer();
  return avail.server ? { server: avail.server } : { server: null, reason: avail.reason };
}

/**
 * Starts `replicas` services on a fresh database of `server`, one after the other (the first migrates).
 * @example const set = await startReplicaSet(server, { replicas: 3 }); try { ... } finally { await set.close() }
 */
export async function startReplicaSet(server: PostgresServer, opts: ReplicaSetOptions): Promise<ReplicaSet> {
  const db = await freshDatabase(server.url);
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on("error", () => {});
  const dirs: string[] = [];
  const env: Record<string, string> = { MEND_DATABASE_URL: db.url, MEND_LOG_LEVEL: "info", ...opts.env };
  if (opts.policies) {
    const policies = mkdtempSync(join(tmpdir(), "mend-replicas-policies-"));
    dirs.push(policies);
    cpSync(REPO_POLICIES, policies, { recursive: true });
    for (const [name, yaml] of Object.entries(opts.policies)) writeFileSync(join(policies, name), yaml);
    env.MEND_POLICIES_DIR = policies;
  }
  const slots: (ServiceProcess | null)[] = Array.from({ length: opts.replicas }, () => null);
  let turn = 0;
  let closed = false;
  const set: ReplicaSet = {
    dbUrl: db.url,
    slots,
    env,
    async start(i) {
      const dir = mkdtempSync(join(tmpdir(), `mend-replica-${i}-`));
      dirs.push(dir);
      const svc = await startService(env, dir);
      slots[i] = svc;
      return svc;
    },
    async stop(i, signal = "SIGKILL") {
      const svc = slots[i];
      if (!svc) return;
      slots[i] = null;
      if (signal === "SIGSTOP" || signal === "SIGCONT") throw new Error("use the child's kill for pauses");
      await svc.stop(signal);
    },
    urls: () => slots.filter((s): s is ServiceProcess => s !== null).map((s) => s.url),
    next() {
      const live = slots.filter((s): s is ServiceProcess => s !== null);
      if (live.length === 0) throw new Error("no replica is running");
      return live[turn++ % live.length]!;
    },
    async sql(text, params = []) {
      return (await pool.query(text, params)).rows;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const s of slots) {
        if (!s) continue;
        if (s.child.signalCode === null && s.child.exitCode === null) s.child.kill("SIGCONT");
        await s.stop("SIGKILL");
      }
      await pool.end().catch(() => {});
      await db.drop().catch(() => {});
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < opts.replicas; i++) await set.start(i);
  } catch (e) {
    await set.close();
    throw e;
  }
  return set;
}

/** Registers an HTTP tool (`effect` by default) through one replica; the others read it from the database. */
export async function registerEffect(url: string, endpoint: string, name = "effect"): Promise<void> {
  const reg = await call(url, "POST", "/v1/tools", {
    name,
    description: "records one side effect",
    inputSchema: { type: "object", properties: { n: { type: "integer" } } },
    endpoint,
  });
  if (reg.status !== 201) throw new Error(`registering effect: ${reg.status} ${JSON.stringify(reg.body)}`);
}

/**
 * Polls `check` until it is truthy (every 50 ms, up to `timeoutMs`, 60 s by default); throws naming `what`.
 * @example await until(async () => (await set.sql("SELECT 1 FROM runs")).length > 0, "a run")
 */
export async function until<T>(
  check: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
