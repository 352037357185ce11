// A real PostgreSQL server for the suites: the one ./scripts/test started (TEST_POSTGRES_URL), or a
// throwaway cluster of this process started by the same script (scripts/postgres.sh), and fresh databases on it.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const SCRIPT = new URL("../../scripts/postgres.sh", import.meta.url).pathname;
const run = promisify(execFile);

/** A server the tests may use; `stop` is a no-op for a server this process did not start. */
export interface PostgresServer {
  url: string;
  /** The cluster's directory when this process started it (tests that stop and restart the server). */
  dir: string | null;
  stop(): Promise<void>;
}

/** The server to test against, or the reason there is none (the suite then skips, printing it). */
export type PostgresAvailability = { server: PostgresServer } | { server: null; reason: string };

/**
 * Uses TEST_POSTGRES_URL when set, else starts a cluster of our own (`scripts/postgres.sh start`).
 * @example const pgs = await postgresServer(); if (!pgs.server) t.skip(pgs.reason)
 */
export async function postgresServer(
  opts: { own?: boolean; options?: string[] } = {},
): Promise<PostgresAvailability> {
  const shared = process.env.TEST_POSTGRES_URL;
  if (shared && !opts.own) return { server: { url: shared, dir: null, stop: async () => {} } };
  const dir = mkdtempSync(join(tmpdir(), "mend-pg-"));
  try {
    const options = opts.options ?? ["-c", "fsync=off", "-c", "synchronous_commit=off"];
    const { stdout } = await run("bash", [SCRIPT, "start", dir, ...options], { timeout: 180_000 });
    const url = stdout.trim().split("\n").at(-1)!;
    return {
      server: {
        url,
        dir,
        async stop() {
          await run("bash", [SCRIPT, "stop", dir]).catch(() => {});
          rmSync(dir, { recursive: true, force: true });
        },
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const err = e as { stderr?: string; message: string };
    return {
      server: null,
      reason: `no PostgreSQL server could be started: ${err.stderr?.trim() || err.message}`,
    };
  }
}

/** Stops (as a crash would: immediate) or starts again a cluster this process started (same port and data). */
export async function controlPostgres(server: PostgresServer, action: "stop" | "resume"): Promise<void> {
  if (!server.dir) throw new Error("only a cluster started by this process can be stopped and resumed");
  await run("bash", [SCRIPT, action, server.dir, ...(action === "stop" ? ["immediate"] : [])]);
}

let counter = 0;

/**
 * Creates an empty database on the server and returns its URL; `drop` removes it.
 * @example const db = await freshDatabase(server.url); const store = await PostgresStore.open(db.url)
 */
export async function freshDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `mend_test_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
