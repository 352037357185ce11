// The SQL both backends run to copy a parent's journal into a fork (same statements, their placeholders).

/** Columns a copied step keeps as they are in the parent. */
const STEP_COLUMNS =
  "seq, key, kind, status, attempt, input, output, failure, cached, started_at, ended_at, usage, remediation, audit";
const TOOL_CALL_COLUMNS = "step_seq, seq, tool, args_json, occurrence, status, output, failure, ms, cached";
/** Only finished steps are copied: an unfinished one before the fork point runs again in the fork. */
const FINISHED = "status IN ('succeeded', 'failed')";

/**
 * Copies the finished steps of `parent` before `atSeq` into `child`: same seq, key, input and output (blobs
 * are shared by reference: outputs hold their sha256 pointers), no owner; `replayed_from_*` names the run
 * where the step was executed (a fork of a fork points at the origin, not at the copy).
 * `p` are the placeholders for (child, parent, atSeq).
 * @example c.run(copyStepsSql(["?", "?", "?"]), child, parent, 5)
 */
export function copyStepsSql(p: readonly [string, string, string]): string {
  const [child, parent, atSeq] = p;
  return `INSERT INTO steps (run_id, ${STEP_COLUMNS}, replayed_from_run, replayed_from_seq)
    SELECT ${child}, ${STEP_COLUMNS}, COALESCE(replayed_from_run, run_id), COALESCE(replayed_from_seq, seq)
    FROM steps WHERE run_id = ${parent} AND seq < ${atSeq} AND ${FINISHED}`;
}

/** Copies the tool calls of the steps `copyStepsSql` copied (code-mode steps show them; replays use them). */
export function copyToolCallsSql(p: readonly [string, string, string]): string {
  const [child, parent, atSeq] = p;
  return `INSERT INTO tool_calls (run_id, ${TOOL_CALL_COLUMNS})
    SELECT ${child}, ${TOOL_CALL_COLUMNS} FROM tool_calls t
    WHERE t.run_id = ${parent} AND t.step_seq < ${atSeq}
      AND EXISTS (SELECT 1 FROM steps s WHERE s.run_id = t.run_id AND s.seq = t.step_seq AND s.${FINISHED})`;
}

/** The data of the `run.forked` event appended to a new fork. */
export function forkedEvent(parentRunId: string, atSeq: number, copied: number): Record<string, unknown> {
  return { parentRunId, forkedAtSeq: atSeq, copiedSteps: copied };
}
