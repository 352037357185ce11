// Restate as a benchmark peer: its server (the npm package's binary) and an SDK endpoint in child
// processes, both on loopback, started and torn down by the benchmark itself.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "./free-port.ts";

const HANDLER = new URL("./restate-handler.ts", import.meta.url).pathname;

/** The restate-server binary shipped by @restatedev/restate-server-linux-x64, or a reason it is missing. */
function serverBinary(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("@restatedev/restate-server-linux-x64/package.json");
  return join(dirname(pkg), "bin", "restate-server");
}

export interface RestatePeer {
  ingressUrl: string;
  version: string;
  /** Kills the SDK endpoint with SIGKILL (the process executing the steps). */
  killHandler(): void;
  /** Starts a fresh SDK endpoint on the same port (the server retries its invocations there). */
  startHandler(): Promise<void>;
  /** Resolves when the handler has printed `line` (e.g. "step 100"). */
  handlerSaid(line: string): Promise<void>;
  /** The server's and the handler's RSS, for the memory column. */
  pids(): number[];
  stop(): Promise<void>;
}

async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await ok().catch(() => false)) return;
    if (performance.now() > deadline) throw new Error(`restate peer: ${what} not ready within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts restate-server (ingress, admin and node ports on 127.0.0.1, telemetry off, a temp base dir) and
 * one SDK endpoint, and registers the endpoint.
 * @example const peer = await startRestate(); try { ... } finally { await peer.stop() }
 */
export async function startRestate(): Promise<RestatePeer> {
  const dir = mkdtempSync(join(tmpdir(), "mend-bench-restate-"));
  const [ingress, admin, node, handlerPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  writeFileSync(
    join(dir, "config.toml"),
    [
      "disable-telemetry = true",
      'log-filter = "warn"',
      `bind-address = "127.0.0.1:${node}"`,
      `advertised-address = "http://127.0.0.1:${node}/"`,
      "[ingress]",
      `bind-address = "127.0.0.1:${ingress}"`,
      "[admin]",
      `bind-address = "127.0.0.1:${admin}"`,
      "disable-web-ui = true",
    ].join("\n"),
  );
  const bin = serverBinary();
  const version = await new Promise<string>((resolve) => {
    const p = spawn(bin, ["--version"], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.on("exit", () => resolve(out.trim()));
  });
  const server = spawn(
    bin,
    [
      "--config-file",
      join(dir, "config.toml"),
      "--base-dir",
      join(dir, "data"),
      "--node-name",
      "bench",
      "--no-logo",
      "--listen-mode",
      "tcp",
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, RESTATE_DISABLE_TELEMETRY: "true" } },
  );
  let serverErr = "";
  server.stderr.on("data", (d: Buffer) => (serverErr = (serverErr + d.toString()).slice(-4000)));
  const adminUrl = `http://127.0.0.1:${admin}`;
  const ingressUrl = `http://127.0.0.1:${ingress}`;
  try {
    await until("admin API", 30_000, async () => (await fetch(`${adminUrl}/health`)).ok);
  } catch (e) {
    server.kill("SIGKILL");
    throw new Error(`${(e as Error).message}: ${serverErr}`, { cause: e });
  }

  let handler: ChildProcess | null = null;
  const said = new Map<string, () => void>();
  const startHandler = async (): Promise<void> => {
    const child = spawn(process.execPath, [HANDLER, String(handlerPort)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    handler = child;
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        if (line === "ready") resolve();
        said.get(line)?.();
      });
      child.on("exit", (code) => reject(new Error(`restate handler exited (${code}) before it was ready`)));
    });
    await ready;
  };
  await startHandler();
  const reg = await fetch(`${adminUrl}/deployments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri: `http://127.0.0.1:${handlerPort}` }),
  });
  if (!reg.ok) throw new Error(`restate peer: registering the endpoint: ${reg.status} ${await reg.text()}`);
  await until("the bench service", 10_000, async () => (await fetch(`${ingressUrl}/restate/health`)).ok);

  return {
    ingressUrl,
    version,
    killHandler: () => handler?.kill("SIGKILL"),
    startHandler,
    handlerSaid: (line) => new Promise<void>((resolve) => said.set(line, resolve)),
    pids: () => [server.pid!, ...(handler?.pid ? [handler.pid] : [])],
    async stop() {
      handler?.kill("SIGKILL");
      server.kill("SIGTERM");
      await new Promise((r) => server.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One invocation of `bench/run` through the ingress: `steps` durable steps; the per-step durations the
 * handler measured.
 * @example const perStepMs = await restateWorkflow(peer, 200)
 */
export async function restateWorkflow(
  peer: RestatePeer,
  steps: number,
  idempotencyKey?: string,
): Promise<number[]> {
  const res = await fetch(`${peer.ingressUrl}/bench/run`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
    },
    body: JSON.stringify({ steps }),
  });
  if (!res.ok) throw new Error(`restate bench/run: ${res.status} ${await res.text()}`);
  return (await res.json()) as number[];
}
