// A run's journal as JSONL (one step per line), for the inspector's "Export JSONL" of a single run.
import type { StepRecord } from "../../store/records.ts";
import { stepView } from "../../engine/run-view.ts";

/**
 * One JSON line per step, in journal order: the API's step shape plus the run id and the audit.
 * @example new Response(stepsJsonl(steps), { headers: { "content-type": "application/x-ndjson" } })
 */
export function stepsJsonl(runId: string, steps: StepRecord[]): string {
  return steps.map((s) => `${JSON.stringify({ runId, ...stepView(s), audit: s.audit })}\n`).join("");
}
