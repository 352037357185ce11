// Renders an action's result for the model: compact JSON, failures in full (infrastructure as context).
import type { ExecutionResponse, Failure } from "@mend/wire";

const TAIL = 2_000;
const tail = (s: string | undefined) => (s && s.length > TAIL ? `…${s.slice(-TAIL)}` : s);

/** What the model reads for a failure: every field it can act on, nothing it cannot. */
export function renderFailure(f: Failure): Record<string, unknown> {
  const { stdoutTail, stderrTail, ...rest } = f;
  return {
    ...rest,
    ...(stdoutTail ? { stdoutTail: tail(stdoutTail) } : {}),
    ...(stderrTail ? { stderrTail: tail(stderrTail) } : {}),
  };
}

/**
 * The tool-result text of one action.
 * @example renderExecution(res, [{ kind: "out_of_memory", ... }]) // '{"status":"succeeded",...,"healedAfter":[...]}'
 */
export function renderExecution(res: ExecutionResponse, healedAfter: Failure[] = []): string {
  const body: Record<string, unknown> = { status: res.status };
  if (res.result !== undefined) body.result = res.result;
  if (res.stdout) body.stdout = tail(res.stdout);
  if (res.stderr) body.stderr = tail(res.stderr);
  if (res.exitCode !== undefined && res.exitCode !== null && res.exitCode !== 0) body.exitCode = res.exitCode;
  if (res.logs?.length) body.logs = res.logs.slice(-50);
  if (res.files?.length) body.files = res.files;
  if (res.failure) body.failure = renderFailure(res.failure);
  if (healedAfter.length) {
    body.healedAfter = healedAfter.map((f) => ({ kind: f.kind, message: f.message }));
    body.note =
      "Earlier attempts failed and were retried automatically by policy; the result above is from the last attempt.";
  }
  return JSON.stringify(body);
}

/** A problem with the model's own output (malformed arguments, unknown action), as a structured tool result. */
export function renderLoopError(error: string, message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ status: "failed", error, message, ...extra });
}
