// A hostile tenant and a well-behaved one against a real service, shared by the hostile-tenant suite and the
// fairness benchmark: tenant A floods (awaiting scripts, relays with catastrophic patterns, deep payloads on
// every bridge direction, optionally CPU-bound scripts); tenant B runs trivial executions and times them.
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Mend } from "../../client/src/index.ts";
import { call } from "./http-json.ts";

const POLICIES = new URL("../../policies/", import.meta.url).pathname;

/**
 * A policies dir with the repository's policies plus `flood`: the default policy with room for the whole
 * flood (concurrentExecutions 200), so A's own limit does not cut it short.
 */
export function floodPolicies(): string {
  const dir = mkdtempSync(join(tmpdir(), "mend-policies-"));
  cpSync(POLICIES, dir, { recursive: true });
  writeFileSync(
    join(dir, "flood.yaml"),
    "name: flood\nextends: default\ndescription: A tenant that floods (tests and benchmarks).\nlimits: { concurrentExecutions: 200 }\n",
  );
  return dir;
}

/** What tenant A's flood is made of. */
export interface FloodOptions {
  url: string;
  /** Tenant A's API key. */
  key: string;
  /** Scripts held awaiting `tools.sleep` at all times. Default 64. */
  sleepers?: number;
  /** How long each sleeper sleeps, ms. Default 20000. */
  sleepMs?: number;
  /** Relay executions at all times whose client tool has a catastrophic pattern. Default 8. */
  relays?: number;
  /** Cycle through the deep-nesting payloads of every bridge direction. Default true. */
  deepPayloads?: boolean;
  /** CPU-bound scripts (`while (true)`, 5 s time limit) at all times, per engine listed. Default none. */
  cpuHogs?: { quickjs?: number; v8?: number };
}

/** How tenant A's requests ended: counts by outcome (`200 succeeded`, `200 failed:<kind>`, `400`, …). */
export interface FloodReport {
  outcomes: Record<string, number>;
  /** Responses with a 5xx status, or requests that failed at the HTTP level (a dead process). */
  serverErrors: number;
}

const CATASTROPHIC = ["^a*a*a*$", "^(a+){25}$", "^(a|aa)+$", "^(\\w+\\s?)*$"];

/**
 * Starts tenant A's flood; `stop()` ends every loop and resolves with the report once in-flight work ended.
 * @example const flood = startFlood({ url, key }); ...; const report = await flood.stop();
 */
export function startFlood(options: FloodOptions): { stop(): Promise<FloodReport> } {
  const { url, key } = options;
  const auth = { authorization: `Bearer ${key}` };
  const report: FloodReport = { outcomes: {}, serverErrors: 0 };
  let running = true;
  const count = (label: string) => (report.outcomes[label] = (report.outcomes[label] ?? 0) + 1);
  const record = (status: number, body: unknown) => {
    if (status >= 500) report.serverErrors += 1;
    const b = body as { status?: string; failure?: { kind?: string } } | null;
    count(
      status === 200 && b?.status
        ? `${status} ${b.status === "failed" ? `failed:${b.failure?.kind}` : b.status}`
        : String(status),
    );
  };
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    try {
      const r = await call(url, "POST", path, body, { ...auth, ...headers });
      record(r.status, r.body);
      return r;
    } catch (e) {
      report.serverErrors += 1;
      count(`error:${(e as Error).message}`);
      return undefined;
    }
  };
  const loop = async (body: () => Promise<unknown>) => {
    while (running) await body();
  };
  const loops: Promise<unknown>[] = [];

  const sleepMs = options.sleepMs ?? 20_000;
  for (let i = 0; i < (options.sleepers ?? 64); i++) {
    loops.push(
      loop(() =>
        post("/v1/executions", {
          sandbox: "codemode",
          code: `await tools.sleep({ ms: ${sleepMs} });\nreturn 1;`,
          limits: { timeoutMs: sleepMs + 10_000 },
        }),
      ),
    );
  }

  const mend = new Mend({ baseUrl: url, apiKey: key, retries: 0 });
  for (let i = 0; i < (options.relays ?? 8); i++) {
    const pattern = CATASTROPHIC[i % CATASTROPHIC.length]!;
    loops.push(
      loop(async () => {
        try {
          const r = await mend.codemode.execute(
            "let kinds = [];\nfor (let i = 0; i < 5; i++) { try { await tools.search({ q: 'a'.repeat(2000) + '!' }); } catch (e) { kinds.push(e.kind); } }\nawait tools.hold({});\nreturn kinds;",
            {
              limits: { timeoutMs: 30_000 },
              tools: {
                search: {
                  inputSchema: {
                    type: "object",
                    properties: { q: { type: "string", pattern } },
                    required: ["q"],
                  },
                  handler: () => ({ hits: [] }),
                },
                hold: () => new Promise((resolve) => setTimeout(() => resolve(null), 500)),
              },
            },
          );
          record(200, r);
        } catch (e) {
          count(`relay error:${(e as Error).name}`);
          if (!/MendFailure|MendApiError/.test((e as Error).name)) report.serverErrors += 1;
        }
      }),
    );
  }

  if (options.deepPayloads !== false) {
    const deepObject = (levels: number) => `${'{"k":'.repeat(levels)}1${"}".repeat(levels)}`;
    const payloads: (() => Promise<unknown>)[] = [
      // guest → tool arguments, both engines
      ...["quickjs", "v8"].map(
        (engine) => () =>
          post("/v1/executions", {
            sandbox: "codemode",
            engine,
            code: 'let o = {};\nfor (let i = 0; i < 10000; i++) o = { k: o };\nawait tools.echo({ text: "x", o });',
          }),
      ),
      // guest → host: the script's result
      () =>
        post("/v1/executions", {
          sandbox: "codemode",
          code: "let a = [];\nfor (let i = 0; i < 9000; i++) a = [a];\nreturn a;",
        }),
      // guest → host: console output of a deep value
      () =>
        post("/v1/executions", {
          sandbox: "codemode",
          code: "let a = [];\nfor (let i = 0; i < 9000; i++) a = [a];\nconsole.log(a);\nreturn 1;",
        }),
      // client → host: request bodies
      () => post("/v1/runs", `{"mode":"client","metadata":${deepObject(100_000)}}`),
      () =>
        post(
          "/mcp",
          `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_orchestration","arguments":${deepObject(10_000)}}}`,
          { accept: "application/json, text/event-stream" },
        ),
      () => post("/v1/runs", { mode: "client" }, { "idempotency-key": "" }),
      // client → guest: a relay answer nested too deep
      () => deepRelayAnswer(url, auth).then((status) => count(`relay answer ${status}`)),
    ];
    let next = 0;
    loops.push(loop(() => payloads[next++ % payloads.length]!()));
  }

  for (const engine of ["quickjs", "v8"] as const) {
    for (let i = 0; i < (options.cpuHogs?.[engine] ?? 0); i++) {
      loops.push(
        loop(() =>
          post("/v1/executions", {
            sandbox: "codemode",
            engine,
            code: "while (true) {}",
            limits: { timeoutMs: 5000 },
          }),
        ),
      );
    }
  }

  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return report;
    },
  };
}

/** A relay execution whose one client tool call is answered with a value nested 1,000 deep → the answer's status. */
async function deepRelayAnswer(url: string, auth: Record<string, string>): Promise<number> {
  const res = await fetch(`${url}/v1/relay/executions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify({
      code: "try { await tools.deep({}); } catch (e) { return e.kind; }",
      tools: [{ name: "deep" }],
    }),
  });
  let id = "";
  let status = 0;
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const event = JSON.parse(buffer.slice(0, nl)) as { type: string; id?: string; seq?: number };
      buffer = buffer.slice(nl + 1);
      if (event.type === "started") id = event.id!;
      if (event.type === "tool_call") {
        const deep = `${"[".repeat(1000)}${"]".repeat(1000)}`;
        status = (
          await call(
            url,
            "POST",
            `/v1/relay/executions/${id}/results/${event.seq}`,
            `{"ok":true,"value":${deep}}`,
            auth,
          )
        ).status;
      }
    }
  }
  return status;
}

/** One of tenant B's trivial executions. */
export type TrivialKind = "quickjs" | "v8" | "container";

const TRIVIAL: Record<TrivialKind, Record<string, unknown>> = {
  quickjs: { sandbox: "codemode", engine: "quickjs", code: "return 6 * 7" },
  v8: { sandbox: "codemode", engine: "v8", code: "return 6 * 7" },
  container: { sandbox: "container", image: "python", code: "print(6*7)" },
};

/**
 * Runs one trivial execution as the tenant of `key`; resolves with its latency, throws unless it returned 42.
 * @example const ms = await trivial(url, keyB, "quickjs")
 */
export async function trivial(url: string, key: string, kind: TrivialKind): Promise<number> {
  const t0 = performance.now();
  const r = await call(url, "POST", "/v1/executions", TRIVIAL[kind], { authorization: `Bearer ${key}` });
  const ms = performance.now() - t0;
  const ok = kind === "container" ? r.body?.stdout === "42\n" : r.body?.result === 42;
  if (r.status !== 200 || r.body?.status !== "succeeded" || !ok) {
    throw new Error(
      `${kind}: ${r.status} ${r.body?.status ?? ""} ${r.body?.failure?.kind ?? r.body?.detail ?? ""}`.trim(),
    );
  }
  return ms;
}
