// Code-mode executions end to end over HTTP (journaled by the real service in a child process), against a bare
// Hono route as the floor.
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
  engine: "quickjs" | "v8",
  script: () => { code: string; expect?: unknown },
): Op {
  return async () => {
    const { code, expect } = script();
    const res = await client.json<{ status: string; result: unknown; failure?: { kind: string; message: string } }>(
      "POST",
      "/v1/executions",
      { sandbox: "codemode", engine, code },
    );
    if (res.status !== "succeeded")
      throw new Error(`execution ${res.status}: ${res.failure?.kind} ${res.failure?.message}`);
    if (expect !== undefined && res.result !== expect)
      throw new Error(`wrong result ${JSON.stringify(res.result)}`);
  };
}

/**
 * Rows (b), (c) over HTTP and (e) of issue 3: sequential latency and closed-loop throughput.
 * @example console.table(await benchCodeModeHttp())
 */
export async function benchCodeModeHttp(scale = 1): Promise<Row[]> {
  const rows: Row[] = [];
  const n = Math.round(1500 * scale);
  const bare = await startBareHono();
  const bareClient = httpClient(bare.url, { maxSockets: 32 });
  try {
    const get: Op = async () => {
      const r = await bareClient.json<{ ok: boolean }>("GET", "/json");
      if (!r.ok) throw new Error("bare route answered without ok");
    };
    const post: Op = async () => {
      const r = await bareClient.json<{ ok: boolean }>("POST", "/json", { code: "return 1" });
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
    bareClient.close();
    await bare.stop();
  }

  const svc = await startService({ MEND_POOL_SIZE: "0" });
  const client = httpClient(svc.url, { maxSockets: 32 });
  try {
    const unique = execution(client, "quickjs", uniqueEchoes);
    rows.push(
      rowOf("(b) quickjs over HTTP: 3 echo calls, new args (cache misses), sequential", await sequential(n, 300, unique), {
        target: { metric: "p50Ms", atMost: 1.5 },
        notes: "each call misses the global cache and writes an entry",
      }),
    );
    for (const c of [8, 32]) {
      rows.push(
        rowOf(`(b) quickjs over HTTP: same, ${c} in flight`, await closedLoop(3 * n, c, unique), {
          withThroughput: true,
          target: { metric: "throughputPerS", atLeast: 1000 },
          ...memoryFields("service", svc.child.pid),
          notes: "latency under load; load generator shares the 2 cores",
        }),
      );
    }
    rows.push(
      rowOf(
        "    quickjs over HTTP: 3 echo calls, same args (cache hits), sequential",
        await sequential(n, 100, execution(client, "quickjs", () => ({ code: CACHED_ECHOES, expect: "abc" }))),
      ),
    );
    rows.push(
      rowOf(
        "    quickjs over HTTP: 3 sleep({ms: 0}) calls, sequential",
        await sequential(Math.round(n / 3), 50, execution(client, "quickjs", () => ({ code: SLEEPS }))),
        { notes: "sleep is never cached; each ms:0 timer still takes ≥ 1 ms in Node" },
      ),
    );
    rows.push(
      rowOf(
        "    quickjs over HTTP: return 1 (no tool call), sequential",
        await sequential(n, 100, execution(client, "quickjs", () => ({ code: "return 1", expect: 1 }))),
      ),
    );
    const v8 = execution(client, "v8", uniqueEchoes);
    rows.push(
      rowOf("(c) v8 over HTTP: 3 echo calls, new args, sequential", await sequential(n, 200, v8), {
        notes: "engine: v8",
      }),
    );
    rows.push(
      rowOf("(c) v8 over HTTP: same, 8 in flight", await closedLoop(2 * n, 8, v8), {
        withThroughput: true,
        ...memoryFields("service", svc.child.pid),
      }),
    );
  } finally {
    client.close();
    await svc.stop();
  }
  return rows;
}

if (import.meta.main) console.table(await benchCodeModeHttp());
