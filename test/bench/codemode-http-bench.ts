// Code-mode executions end to end over HTTP (journaled by the real service in a child process), against a bare
// Hono route as the floor.
import type { CodeModeEngineName } from "@mend/wire";
import { rmSync } from "node:fs";
import { startService } from "../support/service-process.ts";
import { startBareHono } from "./bare-hono-server.ts";
import { httpClient, type HttpClient } from "./http-client.ts";
import { closedLoop, rowOf, sequential, type Op } from "./load.ts";
import { memoryFields } from "./proc-memory.ts";
import type { Row } from "./stats.ts";

let nonce = 0;

/** 3 dependent echo calls whose arguments are new each time: every call misses the cache (and fills it). */
function uniqueEchoes(): { code: string; expect: string } {
  const t = `n${++nonce}-`;
  return {
    code: `const a = await tools.echo({ text: '${t}a' });\nconst b = await tools.echo({ text: a.text + 'b' });\nconst c = await tools.echo({ text: b.text + 'c' });\nreturn c.text;`,
    expect: `${t}abc`,
  };
}

const CACHED_ECHOES =
  "const a = await tools.echo({ text: 'a' });\nconst b = await tools.echo({ text: a.text + 'b' });\nconst c = await tools.echo({ text: b.text + 'c' });\nreturn c.text;";
const SLEEPS =
  "const a = await tools.sleep({ ms: 0 });\nconst b = await tools.sleep({ ms: 0 });\nconst c = await tools.sleep({ ms: 0 });\nreturn a.sleptMs + b.sleptMs + c.sleptMs;";

/** An execution op: POST /v1/executions, 200 and status succeeded (and the expected result when given). */
function execution(
  client: HttpClient,
  engine: CodeModeEngineName,
  script: () => { code: string; expect?: unknown },
): Op {
  return async () => {
    const { code, expect } = script();
    const res = await client.json<{
      status: string;
      result: unknown;
      failure?: { kind: string; message: string };
    }>("POST", "/v1/executions", { sandbox: "codemode", engine, code });
    if (res.status !== "succeeded")
      throw new Error(`execution ${res.status}: ${res.failure?.kind} ${res.failure?.message}`);
    if (expect !== undefined && res.result !== expect)
      throw new Error(`wrong result ${JSON.stringify(res.result)}`);
  };
}

/** Empties the tenant's cache (so a row's cache misses start from an empty table) and returns a notes helper. */
async function freshCache(client: HttpClient): Promise<() => Promise<string>> {
  await client.json("DELETE", "/v1/cache");
  return async () => {
    const stats = await client.json<{ entries: number }>("GET", "/v1/cache/stats");
    return `cache emptied before the row, ${stats.entries.toLocaleString("en-US")} entries after it`;
  };
}

async function bareRows(n: number): Promise<Row[]> {
  const rows: Row[] = [];
  const bare = await startBareHono();
  const client = httpClient(bare.url, { maxSockets: 32 });
  try {
    const get: Op = async () => {
      const r = await client.json<{ ok: boolean }>("GET", "/json");
      if (!r.ok) throw new Error("bare route answered without ok");
    };
    const post: Op = async () => {
      const r = await client.json<{ ok: boolean }>("POST", "/json", { code: "return 1" });
      if (!r.ok) throw new Error("bare route answered without ok");
    };
    rows.push(rowOf("(e) bare Hono GET /json, sequential", await sequential(2 * n, 300, get)));
    rows.push(rowOf("(e) bare Hono POST /json (small body), sequential", await sequential(2 * n, 300, post)));
    rows.push(
      rowOf("(e) bare Hono POST /json, 16 in flight", await closedLoop(5 * n, 16, post), {
        withThroughput: true,
        ...memoryFields("bare server", bare.child.pid),
      }),
    );
  } finally {
    client.close();
    await bare.stop();
  }
  return rows;
}

/** The throughput rows again with 8 QuickJS workers (default 2): is the worker pool the bottleneck? */
async function moreWorkersRows(n: number): Promise<Row[]> {
  const rows: Row[] = [];
  const svc = await startService({ MEND_POOL_SIZE: "0", MEND_CODEMODE_WORKERS: "8" });
  const client = httpClient(svc.url, { maxSockets: 32 });
  try {
    const sleeps = execution(client, "quickjs", () => ({ code: SLEEPS }));
    const unique = execution(client, "quickjs", uniqueEchoes);
    const warm = await sequential(0, 200, unique);
    const after = await freshCache(client);
    const echoes = await closedLoop(2 * n, 16, unique);
    rows.push(
      rowOf("    MEND_CODEMODE_WORKERS=8: 3 echo calls, new args, 16 in flight", echoes, {
        withThroughput: true,
        failures: echoes.failures.count + warm.failures.count,
        target: { metric: "throughputPerS", atLeast: 1000 },
        notes: `${await after()}`,
      }),
    );
    rows.push(
      rowOf(
        "    MEND_CODEMODE_WORKERS=8: 3 sleep({ms:0}) calls, 16 in flight",
        await closedLoop(2 * n, 16, sleeps),
        {
          withThroughput: true,
          target: { metric: "throughputPerS", atLeast: 1000 },
          ...memoryFields("service", svc.child.pid),
        },
      ),
    );
  } finally {
    client.close();
    await svc.stop();
    rmSync(svc.dataDir, { recursive: true, force: true });
  }
  return rows;
}

/**
 * Rows (b), (c) over HTTP and (e) of issue 3: sequential latency and closed-loop throughput.
 * @example console.table(await benchCodeModeHttp())
 */
export async function benchCodeModeHttp(n = 1000): Promise<Row[]> {
  const rows = await bareRows(n);
  const svc = await startService({ MEND_POOL_SIZE: "0" });
  const client = httpClient(svc.url, { maxSockets: 32 });
  try {
    const unique = execution(client, "quickjs", uniqueEchoes);
    const sleeps = execution(client, "quickjs", () => ({ code: SLEEPS }));
    const warm = await sequential(0, 300, unique); // warms the service's workers and statements
    let after = await freshCache(client);
    const first = await sequential(n, 0, unique);
    rows.push(
      rowOf("(b) quickjs over HTTP: 3 echo calls, new args (cache misses), sequential", first, {
        failures: first.failures.count + warm.failures.count,
        failureMessages: [...warm.failures.messages(), ...first.failures.messages()],
        target: { metric: "p50Ms", atMost: 1.5 },
        notes: `every call misses the echo cache and writes an entry; ${await after()}`,
      }),
    );
    for (const c of [8, 32]) {
      rows.push(
        rowOf(
          `(b) quickjs over HTTP: 3 sleep({ms:0}) calls, ${c} in flight`,
          await closedLoop(2 * n, c, sleeps),
          {
            withThroughput: true,
            target: { metric: "throughputPerS", atLeast: 1000 },
            ...memoryFields("service", svc.child.pid),
            notes:
              "sleep is never cached (no cache writes); each ms:0 timer takes ≥ 1 ms but overlaps under load",
          },
        ),
      );
    }
    for (const c of [8, 32]) {
      after = await freshCache(client);
      rows.push(
        rowOf(
          `(b) quickjs over HTTP: 3 echo calls, new args, ${c} in flight`,
          await closedLoop(2 * n, c, unique),
          {
            withThroughput: true,
            target: { metric: "throughputPerS", atLeast: 1000 },
            ...memoryFields("service", svc.child.pid),
            notes: `3 cache writes per execution; ${await after()}`,
          },
        ),
      );
    }
    rows.push(
      rowOf(
        "    quickjs over HTTP: 3 echo calls, same args (cache hits), sequential",
        await sequential(
          n,
          100,
          execution(client, "quickjs", () => ({ code: CACHED_ECHOES, expect: "abc" })),
        ),
      ),
    );
    rows.push(
      rowOf(
        "    quickjs over HTTP: 3 sleep({ms:0}) calls, sequential",
        await sequential(Math.round(n / 2), 50, sleeps),
        { notes: "3 timers of ≥ 1 ms each in the critical path" },
      ),
    );
    const return1 = execution(client, "quickjs", () => ({ code: "return 1", expect: 1 }));
    rows.push(
      rowOf("    quickjs over HTTP: return 1 (no tool call), sequential", await sequential(n, 100, return1)),
    );
    rows.push(
      rowOf("    quickjs over HTTP: return 1, 16 in flight", await closedLoop(2 * n, 16, return1), {
        withThroughput: true,
        notes: "journaled execution without tool calls",
      }),
    );
    const v8 = execution(client, "v8", uniqueEchoes);
    after = await freshCache(client);
    rows.push(
      rowOf(
        "(c) v8 over HTTP: 3 echo calls, new args, sequential",
        await sequential(Math.round(n / 2), 50, v8),
        {
          notes: `engine: v8; ${await after()}`,
        },
      ),
    );
    rows.push(
      rowOf("(c) v8 over HTTP: same, 8 in flight", await closedLoop(n, 8, v8), {
        withThroughput: true,
        ...memoryFields("service", svc.child.pid),
      }),
    );
  } finally {
    client.close();
    await svc.stop();
    rmSync(svc.dataDir, { recursive: true, force: true });
  }
  rows.push(...(await moreWorkersRows(n)));
  return rows;
}

if (import.meta.main) console.table(await benchCodeModeHttp());
