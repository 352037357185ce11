// What /mcp tools answer: compact structured content (the wire's shapes, each fact once) and a short text
// summary for the many clients that show a model only the text.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { ExecutionResponse, Run } from "@mend/wire";
import type { HttpProblem } from "../problem.ts";

const RESULT_CHARS = 1_500;
const TAIL_CHARS = 800;

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
const tail = (s: string, n: number) => (s.length > n ? `…${s.slice(-n)}` : s);

/** The execution without empty lists (the failure is in it once). */
export function compactExecution(res: ExecutionResponse): Record<string, unknown> {
  const out: Record<string, unknown> = { ...res };
  for (const k of ["logs", "files", "toolCalls", "unmatchedReplays"] as const) {
    const v = out[k];
    if (Array.isArray(v) && v.length === 0) delete out[k];
  }
  return out;
}

/**
 * A few lines an LLM can act on: status (or failure kind, message and remedy), result, output tails, files.
 * @example executionSummary(res) // "failed: out_of_memory (infrastructure, retryable) — The container was killed…\nremedy: {…}"
 */
export function executionSummary(res: ExecutionResponse): string {
  const lines: string[] = [];
  const where =
    res.key && res.key !== "execution" ? ` [run ${res.runId}, step ${res.key}]` : ` [run ${res.runId}]`;
  const replayed = res.replayed ? " (replayed from the journal)" : "";
  const f = res.failure;
  if (f) {
    lines.push(
      `failed: ${f.kind} (${f.layer}, ${f.retryable ? "retryable" : "not retryable"})${replayed}${where} — ${f.message}`,
    );
    if (f.remedy) lines.push(`remedy: ${JSON.stringify(f.remedy)}`);
  } else {
    lines.push(`succeeded in ${Math.round(res.usage.wallMs)} ms${replayed}${where}`);
  }
  if (res.result !== undefined)
    lines.push(`result: ${clip(JSON.stringify(res.result) ?? "null", RESULT_CHARS)}`);
  const stdout = res.stdout || f?.stdoutTail;
  const stderr = res.stderr || f?.stderrTail;
  if (stdout) lines.push(`stdout:\n${tail(stdout, TAIL_CHARS)}`);
  if (stderr) lines.push(`stderr:\n${tail(stderr, TAIL_CHARS)}`);
  if (res.exitCode !== undefined && res.exitCode !== null && res.exitCode !== 0)
    lines.push(`exitCode: ${res.exitCode}`);
  if (res.logs?.length) lines.push(`logs:\n${res.logs.slice(-10).join("\n")}`);
  if (res.files?.length)
    lines.push(`files: ${res.files.map((x) => `${x.path} (${x.size} B, blob ${x.sha256})`).join(", ")}`);
  if (res.toolCalls?.length) {
    const failed = res.toolCalls.filter((c) => c.status === "failed").length;
    lines.push(`toolCalls: ${res.toolCalls.length}${failed ? ` (${failed} failed)` : ""}`);
  }
  return lines.join("\n");
}

/** An execution as a tool result: a failed one is a result too (status "failed"), not a protocol error. */
export function executionResult(res: ExecutionResponse): CallToolResult {
  return {
    content: [{ type: "text", text: executionSummary(res) }],
    structuredContent: compactExecution(res),
  };
}

/** One line for a run: status, and what it waits for or why it failed. */
export function runSummary(run: Run): string {
  const parts = [`run ${run.id} (${run.mode}) is ${run.status}`];
  if (run.retryAt) parts.push(`retrying the model at ${run.retryAt}`);
  const waiting = run.waitingFor as { question?: unknown } | undefined;
  if (typeof waiting?.question === "string") parts.push(`waiting for: ${waiting.question}`);
  if (run.failure) parts.push(`failure: ${run.failure.kind} — ${run.failure.message}`);
  if (run.output !== undefined)
    parts.push(`output: ${clip(JSON.stringify(run.output) ?? "null", RESULT_CHARS)}`);
  return parts.join("; ");
}

/** A structured answer with a summary line. */
export function structured(summary: string, value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: summary }], structuredContent: value };
}

/**
 * A request that could not be executed (what HTTP answers with problem+json), as a tool error. Its text
 * carries the problem; there is no structuredContent (clients check it against the tool's output schema).
 */
export function problemResult(p: HttpProblem): CallToolResult {
  const problem = { type: `urn:mend:problem:${p.type}`, status: p.status, detail: p.message, ...p.extra };
  const errors = (p.extra.errors as { path: string; message: string }[] | undefined) ?? [];
  const lines = [
    `refused (${p.status} ${p.type}): ${p.message}`,
    ...errors.map((e) => `  ${e.path}: ${e.message}`),
  ];
  return {
    content: [{ type: "text", text: `${lines.join("\n")}\n${JSON.stringify({ problem })}` }],
    isError: true,
  };
}
