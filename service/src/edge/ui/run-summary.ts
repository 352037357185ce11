// What the runs list and the timeline derive from a run's journal: counts, durations, remediation links.
import type { RunRecord, StepRecord } from "../../store/records.ts";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

export interface RunSummary {
  steps: number;
  failures: number;
  remediations: number;
  /** Wall time from creation to the last update (finished) or to `nowMs` (still going). */
  durationMs: number;
  finished: boolean;
}

/**
 * Counts and duration of one run, from its record and journal.
 * @example summarizeRun(run, steps, Date.now()).failures
 */
export function summarizeRun(run: RunRecord, steps: StepRecord[], nowMs: number): RunSummary {
  const finished = FINISHED.has(run.status);
  return {
    steps: steps.length,
    failures: steps.filter((s) => s.status === "failed").length,
    remediations: steps.filter((s) => s.remediation !== null).length,
    durationMs: (finished ? run.updatedAt : nowMs) - run.createdAt,
    finished,
  };
}

/**
 * The seq of the failed step an automatic remediation answers (`remediation.afterSeq`, the loop's field;
 * `fromSeq`/`failedSeq`/`seq` are accepted too), or null.
 * @example remediationSource({ ...step, remediation: { afterSeq: 2 } }) // 2
 */
export function remediationSource(step: StepRecord): number | null {
  const r = step.remediation;
  if (!r) return null;
  for (const field of ["afterSeq", "fromSeq", "failedSeq", "seq"]) {
    const v = r[field];
    if (typeof v === "number" && Number.isInteger(v) && v < step.seq) return v;
  }
  return null;
}

/**
 * A step's duration in ms: ended − started, or up to `nowMs` while it runs.
 * @example stepDurationMs(step, Date.now())
 */
export function stepDurationMs(step: StepRecord, nowMs: number): number {
  return Math.max(0, (step.endedAt ?? nowMs) - step.startedAt);
}

/**
 * Whether a run matches a free-text filter (id, goal, status, mode, policy, failure kind, metadata).
 * @example matchesText(run, "csv")
 */
export function matchesText(run: RunRecord, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (!needle) return true;
  const hay = [run.id, run.goal ?? "", run.status, run.mode, run.policy ?? "", run.failure?.kind ?? ""];
  if (run.metadata) hay.push(JSON.stringify(run.metadata));
  return hay.some((h) => h.toLowerCase().includes(needle));
}
