// DBOS as a benchmark peer: its TypeScript SDK in a child process (test/bench/peers/dbos-app.ts) against a
// throwaway PostgreSQL cluster on loopback, both started by the benchmark itself.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { postgresServer, type PostgresServer } from "../../support/postgres-server.ts";
import { freePort } from "./free-port.ts";

const APP = new URL("./dbos-app.ts", import.meta.url).pathname;

/** The installed SDK's version (its package.json is not exported: found above its entry point). */
function dbosVersion(): string {
  let dir = dirname(createRequire(import.meta.url).resolve("@dbos-inc/dbos-sdk"));
  while (
    !existsSync(join(dir, "package.json")) ||
    !readFileSync(join(dir, "package.json"), "utf8").includes('"@dbos-inc/dbos-sdk"')
  )
    dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
}

export interface DbosPeer {
  version: string;
  url: string;
  /** Kills the app with SIGKILL (the process executing the steps). */
  killApp(): void;
  /** Starts the app again; DBOS recovers the workflows the killed one left pending. */
  startApp(): Promise<void>;
  appSaid(line: string): Promise<void>;
  pids(): number[];
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL (own cluster, durable commits) and the DBOS app.
 * @example const peer = await startDbos(); try { await dbosWorkflow(peer, "wf-1", 200) } finally { await peer.stop() }
 */
export async function startDbos(): Promise<DbosPeer> {
  // Commits survive a crash of the app (like SQLite in WAL with synchronous=NORMAL, Mend's setting), not a power cut.
  const pg = await postgresServer({ own: true, options: ["-c", "synchronous_commit=off"] });
  if (!pg.server) throw new Error(pg.reason);
  const server: PostgresServer = pg.server;
  const version = dbosVersion();
  const port = await freePort();
  let app: ChildProcess | null = null;
  const said = new Map<string, () => void>();
  const startApp = async (): Promise<void> => {
    const child = spawn(process.execPath, [APP, String(port)], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, DBOS_SYSTEM_DATABASE_URL: server.url, DBOS__APPVERSION: "bench" },
    });
    app = child;
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        if (line === "ready") resolve();
        said.get(line)?.();
      });
      child.on("exit", (code) => reject(new Error(`DBOS app exited (${code}) before it was ready`)));
    });
  };
  try {
    await startApp();
  } catch (e) {
    await server.stop();
    throw e;
  }
  return {
    version,
    url: `http://127.0.0.1:${port}`,
    killApp: () => app?.kill("SIGKILL"),
    startApp,
    appSaid: (line) => new Promise<void>((resolve) => said.set(line, resolve)),
    pids: () => (app?.pid ? [app.pid] : []),
    async stop() {
      app?.kill("SIGKILL");
      await server.stop();
    },
  };
}

/**
 * Runs (or, after a restart, waits for) workflow `id` of `steps` steps; the per-step durations it measured.
 * @example const perStepMs = await dbosWorkflow(peer, "wf-1", 200)
 */
export async function dbosWorkflow(
  peer: DbosPeer,
  id: string,
  steps: number,
  path = "/run",
): Promise<number[]> {
  const res = await fetch(`${peer.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, steps }),
  });
  if (!res.ok) throw new Error(`DBOS ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as number[];
}
