// mend.codemode: scripts that run in the service's sandbox while their tools run here, in the client process.
import { MendApiError } from "./errors.ts";
import { unwrap } from "./durable-run.ts";
import type { Transport } from "./http.ts";
import { textChunks } from "./text-stream.ts";
import type { CodeModeAction, ExecutionResponse, RelayAnswer, RelayEvent, RelayTool } from "./wire-types.ts";

/** A client-hosted tool: a function, or a function with the description and schema the script sees. */
export type HostedTool =
  | ((args: unknown) => unknown)
  | { description?: string; inputSchema?: Record<string, unknown>; handler: (args: unknown) => unknown };

export interface CodeModeRunOptions {
  /** Tools hosted by this process, by name (`tools.search` in the script). */
  tools?: Record<string, HostedTool> | undefined;
  /** Service tools to bind as well (the policy decides). */
  serverTools?: string[] | undefined;
  language?: CodeModeAction["language"] | undefined;
  engine?: CodeModeAction["engine"] | undefined;
  limits?: CodeModeAction["limits"] | undefined;
  seed?: number | undefined;
  /** Journal the script as step `key` of this client-driven run (replayed like any step). */
  runId?: string | undefined;
  key?: string | undefined;
  signal?: AbortSignal | undefined;
}

async function* ndjson(body: ReadableStream<Uint8Array>): AsyncGenerator<RelayEvent> {
  let buf = "";
  for await (const chunk of textChunks(body)) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line) as RelayEvent;
    }
  }
  if (buf.trim()) yield JSON.parse(buf) as RelayEvent;
}

function describe(tools: Record<string, HostedTool>): RelayTool[] {
  return Object.entries(tools).map(([name, t]) =>
    typeof t === "function"
      ? { name }
      : {
          name,
          ...(t.description ? { description: t.description } : {}),
          ...(t.inputSchema ? { inputSchema: t.inputSchema } : {}),
        },
  );
}

/**
 * Code-mode with client-hosted tools, over one long-lived NDJSON stream (POST /v1/relay/executions): the
 * service streams each `tool_call`, this process runs the tool and posts the result back.
 * @example const n = await mend.codemode.run("return (await tools.search({ q: 'x' })).length", { tools: { search } })
 */
export class CodeModeApi {
  readonly #t: Transport;

  constructor(t: Transport) {
    this.#t = t;
  }

  /** Runs the script and returns its value, or throws MendFailure with the structured failure. */
  async run(code: string, opts: CodeModeRunOptions = {}): Promise<unknown> {
    return unwrap(await this.execute(code, opts));
  }

  /** Runs the script and returns the whole execution response (a failure is a value). */
  async execute(code: string, opts: CodeModeRunOptions = {}): Promise<ExecutionResponse> {
    const tools = opts.tools ?? {};
    const res = await this.#t.send({
      method: "POST",
      path: "/v1/relay/executions",
      headers: { accept: "application/x-ndjson" },
      body: {
        code,
        tools: describe(tools),
        ...(opts.serverTools ? { serverTools: opts.serverTools } : {}),
        ...(opts.language ? { language: opts.language } : {}),
        ...(opts.engine ? { engine: opts.engine } : {}),
        ...(opts.limits ? { limits: opts.limits } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        ...(opts.runId ? { runId: opts.runId, key: opts.key ?? "codemode" } : {}),
      },
      idempotencyKey: opts.runId ? `${opts.runId}:${opts.key ?? "codemode"}` : undefined,
      signal: opts.signal,
    });
    let id = "";
    const answers: Promise<void>[] = [];
    for await (const ev of ndjson(res.body!)) {
      if (ev.type === "started") id = ev.id;
      else if (ev.type === "tool_call")
        answers.push(this.#answer(id, ev.seq, tools[ev.tool], ev.tool, ev.args, opts.signal));
      else if (ev.type === "result") {
        await Promise.allSettled(answers);
        return ev.execution;
      } else if (ev.type === "error") throw new MendApiError(ev.problem);
    }
    throw new MendApiError({
      type: "urn:mend:problem:unavailable",
      title: "Relay stream ended",
      status: 502,
      detail:
        "the relay stream ended before the execution's result; re-run with the same runId and key to resume",
    });
  }

  async #answer(
    id: string,
    seq: number,
    tool: HostedTool | undefined,
    name: string,
    args: unknown,
    signal?: AbortSignal,
  ): Promise<void> {
    let answer: RelayAnswer;
    try {
      if (!tool) throw new Error(`tool "${name}" is not hosted by this client`);
      const fn = typeof tool === "function" ? tool : tool.handler;
      answer = { ok: true, value: JSON.parse(JSON.stringify((await fn(args)) ?? null)) as unknown };
    } catch (err) {
      const e = err as Error;
      answer = { ok: false, error: { message: e?.message ?? String(err), type: e?.name ?? "Error" } };
    }
    await this.#t.request({
      method: "POST",
      path: `/v1/relay/executions/${encodeURIComponent(id)}/results/${seq}`,
      body: answer,
      idempotencyKey: `${id}:${seq}`,
      signal,
    });
  }
}
