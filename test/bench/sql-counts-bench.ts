// SQL statements and write transactions per execution and per step, counted through the store itself
// (Store.counters), in process: the figure that shows a hot-path regression before any timing does. On
// SQLite, and on PostgreSQL when a server can be started (a throwaway cluster, or TEST_POSTGRES_URL).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../service/src/config/config.ts";
import { createLogger } from "../../service/src/log/logger.ts";
import { createServices } from "../../service/src/services/services.ts";
import { createApp } from "../../service/src/edge/app.ts";
import { freshDatabase, postgresServer } from "../support/postgres-server.ts";
import type { Row } from "./stats.ts";

const N = 200;

/**
 * Runs N of each operation through `app.request` on a fresh SQLite service, then on a fresh PostgreSQL
 * database (rows suffixed "(PostgreSQL)"; skipped with a note row when no server can be started), and
 * divides the counters (statements through the store's pool; the side connection's heartbeat and LISTEN are
 * not on the hot path and not counted).
 * @example const rows = await benchSqlCounts()
 */
export async function benchSqlCounts(): Promise<Row[]> {
  const rows = await countsOn(undefined);
  const avail = await postgresServer();
  if (!avail.server) return [...rows, { name: "SQL per operation (PostgreSQL)", notes: avail.reason }];
  try {
    const db = await freshDatabase(avail.server.url);
    try {
      rows.push(...(await countsOn(db.url)));
    } finally {
      await db.drop();
    }
  } finally {
    await avail.server.stop();
  }
  return rows;
}

/** The rows of one service: SQLite in a temp data dir, or PostgreSQL at `databaseUrl`. */
async function countsOn(databaseUrl: string | undefined): Promise<Row[]> {
  const suffix = databaseUrl === undefined ? "" : " (PostgreSQL)";
  const dir = mkdtempSync(join(tmpdir(), "mend-bench-sql-"));
  const services = await createServices(
    loadConfig({
      MEND_DATA_DIR: dir,
      MEND_LOG_LEVEL: "silent",
      MEND_POLICIES_DIR: new URL("../../policies", import.meta.url).pathname,
      ...(databaseUrl === undefined ? {} : { MEND_DATABASE_URL: databaseUrl }),
    }),
    createLogger("silent"),
    { containers: false },
  );
  const app = createApp(services);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const rows: Row[] = [];
  const measure = async (name: string, op: (i: number) => Promise<unknown>) => {
    await op(-1); // warm: statement preparation, first-use reads
    const before = services.store.counters();
    for (let i = 0; i < N; i++) await op(i);
    const after = services.store.counters();
    const per = (k: "statements" | "transactions") => Math.round(((after[k] - before[k]) / N) * 10) / 10;
    rows.push({
      name: `SQL per ${name}${suffix}`,
      n: N,
      notes: `${per("statements")} statements, ${per("transactions")} write transactions`,
    });
  };
  try {
    const run = (await call("POST", "/v1/runs", { mode: "client" })).id as string;
    await measure("client-driven tool step (sleep 0)", (i) =>
      call("POST", `/v1/runs/${run}/steps`, {
        key: `t${i}`,
        action: { type: "tool", tool: "sleep", args: { ms: 0 } },
      }),
    );
    await measure("replayed client-driven step", () =>
      call("POST", `/v1/runs/${run}/steps`, {
        key: "t0",
        action: { type: "tool", tool: "sleep", args: { ms: 0 } },
      }),
    );
    await measure("caller's step (PUT checkpoint)", (i) =>
      call("PUT", `/v1/runs/${run}/checkpoints/c${i}`, { value: i }),
    );
    await measure("code-mode execution, 3 cache-missing echo calls", (i) =>
      call("POST", "/v1/executions", {
        sandbox: "codemode",
        code: `for (let k = 0; k < 3; k++) await tools.echo({ text: "${i}-" + k }); return 1`,
      }),
    );
    await measure("code-mode execution, no tool call", () =>
      call("POST", "/v1/executions", { sandbox: "codemode", code: "return 1" }),
    );
  } finally {
    await services.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
