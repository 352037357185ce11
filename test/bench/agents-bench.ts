// Issue 19: what agents meet — an MCP tool call against the same work over HTTP, the size of what a failure
// costs a model's context over MCP, and the price of checking a replayed step's input (non-determinism).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startService } from "../support/service-process.ts";
import { httpClient } from "./http-client.ts";
import { rowOf, sequential } from "./load.ts";
import { createClientRun } from "./steps-http-bench.ts";
import type { Row } from "./stats.ts";

const N = 300;
const SCRIPT = "return 6 * 7";
/** A code-mode heap blow-up: a structured out_of_memory failure without Docker. */
const OOM = "const a = []; while (true) a.push(new Array(100000).fill(1));";

/**
 * Issue 19's rows, against one service process (child) and the official MCP SDK client.
 * @example const rows = await benchAgents()
 */
export async function benchAgents(): Promise<Row[]> {
  const rows: Row[] = [];
  const svc = await startService({ MEND_POOL_SIZE: "0" });
  const http = httpClient(svc.url, { maxSockets: 4 });
  const mcp = new Client({ name: "mend-bench", version: "1.0.0" });
  try {
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`${svc.url}/mcp`)));
    await mcp.listTools();

    const viaMcp = await sequential(N, 30, async () => {
      const r = await mcp.callTool({ name: "run_orchestration", arguments: { code: SCRIPT } });
      if ((r.structuredContent as { result?: unknown }).result !== 42)
        throw new Error("wrong result over MCP");
    });
    rows.push(
      rowOf(`(a) MCP tools/call run_orchestration "${SCRIPT}" (stateless endpoint, SDK client)`, viaMcp),
    );
    const viaHttp = await sequential(N, 30, async () => {
      const r = await http.json<{ result?: unknown }>("POST", "/v1/executions", {
        sandbox: "codemode",
        code: SCRIPT,
      });
      if (r.result !== 42) throw new Error("wrong result over HTTP");
    });
    rows.push(rowOf(`(b) POST /v1/executions, the same script`, viaHttp));

    const oom = await mcp.callTool({
      name: "run_orchestration",
      arguments: { code: OOM, limits: { memoryMb: 8 } },
    });
    const structured = JSON.stringify(oom.structuredContent);
    const text = (oom.content as { text: string }[])[0]!.text;
    const failure = (oom.structuredContent as { failure?: { kind: string } }).failure;
    // What the endpoint answered before (issue 19): the failure and the execution, pretty-printed, as the text.
    const before = JSON.stringify({ failure, execution: oom.structuredContent }, null, 2);
    rows.push({
      name: `(c) a failed execution over MCP (${failure?.kind ?? "?"}): text a model reads / structuredContent, chars`,
      n: 1,
      failures: failure?.kind === "out_of_memory" ? 0 : 1,
      ratio: Math.round((before.length / text.length) * 10) / 10,
      notes: `text ${text.length}, structuredContent ${structured.length} (compact, the failure once); before: ${before.length} (pretty, twice). ratio = before / text`,
    });

    const runId = await createClientRun(http);
    const action = { type: "codemode", code: SCRIPT };
    await http.json("POST", `/v1/runs/${runId}/steps`, { key: "probe", action });
    const checked = await sequential(N, 30, async () => {
      const r = await http.json<{ replayed: boolean }>("POST", `/v1/runs/${runId}/steps`, {
        key: "probe",
        action,
      });
      if (!r.replayed) throw new Error("not replayed");
    });
    rows.push(
      rowOf(
        "(d) replay of a journaled step, its input compared (onInputMismatch: reject, the default)",
        checked,
      ),
    );
    const unchecked = await sequential(N, 30, async () => {
      const r = await http.json<{ replayed: boolean }>("POST", `/v1/runs/${runId}/steps`, {
        key: "probe",
        action,
        onInputMismatch: "replay",
      });
      if (!r.replayed) throw new Error("not replayed");
    });
    rows.push(rowOf("(e) the same replay without the comparison (onInputMismatch: replay)", unchecked));
  } finally {
    await mcp.close().catch(() => undefined);
    http.close();
    await svc.stop();
  }
  return rows;
}
