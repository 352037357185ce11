// Turns store records into the wire shapes of API.md (ISO dates, optional fields omitted when empty).
import type { Failure, Run, Step } from "@mend/wire";
import type { RunRecord, StepRecord } from "../store/records.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A hosted run backing off from a model outage keeps the backoff in `waitingFor` while `running` (see
 * loop/model-turn.ts): shown as `retryAt` and `retrying`, never as a request to a human.
 */
function retryOf(r: RunRecord): Pick<Run, "retryAt" | "retrying"> | null {
  const w = r.waitingFor as {
    kind?: unknown;
    retryAt?: number;
    since?: number;
    attempts?: number;
    failure?: Failure;
  };
  if (r.status !== "running" || w?.kind !== "llm_retry" || typeof w.retryAt !== "number") return null;
  return {
    retryAt: iso(w.retryAt),
    retrying: { since: iso(w.since ?? w.retryAt), attempts: w.attempts ?? 0, failure: w.failure! },
  };
}

export function runView(r: RunRecord): Run {
  const retry = retryOf(r);
  return {
    id: r.id,
    mode: r.mode,
    origin: r.origin,
    status: r.status,
    goal: r.goal,
    policy: r.policy,
    policyVersion: r.policyVersion,
    metadata: r.metadata,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    iterations: r.iterations,
    ...(r.output !== null && r.output !== undefined ? { output: r.output } : {}),
    ...(r.failure ? { failure: r.failure } : {}),
    ...(r.parentRunId ? { parentRunId: r.parentRunId, forkedAtSeq: r.forkedAtSeq ?? 1 } : {}),
    ...(retry ?? (r.waitingFor !== null && r.waitingFor !== undefined ? { waitingFor: r.waitingFor } : {})),
  };
}

export function stepView(s: StepRecord): Step {
  return {
    seq: s.seq,
    key: s.key,
    kind: s.kind,
    status: s.status,
    attempt: s.attempt,
    input: s.input,
    output: s.output,
    failure: s.failure,
    cached: s.cached,
    replayed: s.replayedFrom !== null,
    ...(s.replayedFrom ? { replayedFrom: s.replayedFrom } : {}),
    startedAt: iso(s.startedAt),
    endedAt: s.endedAt === null ? null : iso(s.endedAt),
    usage: s.usage,
    ...(s.remediation ? { remediation: s.remediation } : {}),
    ...(s.audit ? { audit: s.audit } : {}),
  };
}
