// Turns store records into the wire shapes of API.md (ISO dates, optional fields omitted when empty).
import type { Run, Step } from "@mend/wire";
import type { RunRecord, StepRecord } from "../store/records.ts";

const iso = (ms: number) => new Date(ms).toISOString();

export function runView(r: RunRecord): Run {
  return {
    id: r.id,
    mode: r.mode,
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
    ...(r.waitingFor !== null && r.waitingFor !== undefined ? { waitingFor: r.waitingFor } : {}),
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
    replayed: false,
    startedAt: iso(s.startedAt),
    endedAt: s.endedAt === null ? null : iso(s.endedAt),
    usage: s.usage,
    ...(s.remediation ? { remediation: s.remediation } : {}),
    ...(s.audit ? { audit: s.audit } : {}),
  };
}
