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
  /** The run's last update or step start/end, epoch ms. */
  lastActivityAt: number;
  /** A client-driven run still running with no step or update for longer than the idle deadline. */
  abandoned: boolean;
  /** LLM tokens of the run's model turns. */
  tokens: { input: number; output: number };
  /** What the provider priced the turns at, when it reports `costUsd`; null means not priced. */
  costUsd: number | null;
}

/** The inspector's idle deadline for client-driven runs when the policy sets no `budgets.clientIdleMs`. */
export const DEFAULT_CLIENT_IDLE_MS = 60 * 60_000;

/**
 * Counts and duration of one run, from its record and journal.
 * @example summarizeRun(run, steps, Date.now()).failures
 */
export function summarizeRun(
  run: RunRecord,
  steps: StepRecord[],
  nowMs: number,
  idleMs: number = DEFAULT_CLIENT_IDLE_MS,
): RunSummary {
  const finished = FINISHED.has(run.status);
  let lastActivity = run.updatedAt;
  const tokens = { input: 0, output: 0 };
  let costUsd: number | null = null;
  for (const s of steps) {
    lastActivity = Math.max(lastActivity, s.endedAt ?? s.startedAt);
    if (s.kind !== "llm" || !s.usage) continue;
    const u = s.usage;
    if (typeof u.inputTokens === "number") tokens.input += u.inputTokens;
    if (typeof u.outputTokens === "number") tokens.output += u.outputTokens;
    if (typeof u.costUsd === "number") costUsd = (costUsd ?? 0) + u.costUsd;
  }
  // Only a step left running stays busy: an open step of a live process is not idleness.
  const busy = steps.some((s) => s.status === "started");
  return {
    steps: steps.length,
    failures: steps.filter((s) => s.status === "failed").length,
    remediations: steps.filter((s) => s.remediation !== null).length,
    durationMs: (finished ? run.updatedAt : nowMs) - run.createdAt,
    finished,
    lastActivityAt: lastActivity,
    abandoned: run.mode === "client" && run.status === "running" && !busy && nowMs - lastActivity > idleMs,
    tokens,
    costUsd,
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
