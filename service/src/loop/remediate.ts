// The policy's automatic healing: given a failed action, the next attempt to make (or none).
import type { Failure } from "@mend/wire";
import type { Policy } from "../policy/policy-schema.ts";
import type { ActionSpec } from "../engine/step-action.ts";
import { backoffMs } from "../lib/retry.ts";

export interface Remediation {
  action: ActionSpec;
  /** Journaled on the retry step; `afterSeq` links it to the failed step. */
  record: { afterSeq: number; kind: string; attempt: number; action: string; [k: string]: unknown };
  delayMs: number;
}

type Sandbox = "codemode" | "container";

function scaled(
  policy: Policy,
  sandbox: Sandbox,
  field: "memoryMb" | "timeoutMs" | "diskMb",
  current: number,
  multiplier: number | undefined,
): number | null {
  if (!multiplier) return null;
  const max = policy[sandbox].max as Partial<Record<typeof field, number>>;
  const ceiling = max[field] ?? Number.POSITIVE_INFINITY;
  const next = Math.min(Math.round(current * multiplier), ceiling);
  return next > current ? next : null;
}

/**
 * The delay before retry `attempt` of `retries` when they must span an outage of `outageMs`: the
 * first is `firstMs` (short: another engine may take it at once), then each grows by one factor r
 * chosen so that all delays add up to the window (r ≥ 2; no jitter, the schedule is the point).
 * @example outageDelayMs(200, 3, 10_000, 1) // 200; then about 1,300 and 8,500
 */
export function outageDelayMs(firstMs: number, retries: number, outageMs: number, attempt: number): number {
  const first = Math.max(1, firstMs);
  const sum = (r: number) => (first * (r ** retries - 1)) / (r - 1);
  let lo = 2;
  let hi = 2;
  if (sum(lo) < outageMs) {
    while (sum(hi) < outageMs && hi < 1e6) hi *= 2;
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (sum(mid) < outageMs) lo = mid;
      else hi = mid;
    }
  }
  return Math.round(first * hi ** (attempt - 1));
}

/**
 * Decides retry number `attempt` (1-based) for a failure, or null when the policy says hand it to the model.
 * @example nextRemediation(policy, action, oom, 1, 7) // { action: {...limits.memoryMb: 128}, record: {...}, delayMs: 0 }
 */
export function nextRemediation(
  policy: Policy,
  action: ActionSpec,
  failure: Failure,
  attempt: number,
  failedSeq: number,
  random: () => number = Math.random,
): Remediation | null {
  const rule = policy.remediation[failure.kind];
  if (!rule || attempt > rule.retries) return null;
  const delayMs =
    rule.outageMs === undefined
      ? backoffMs({ baseMs: rule.backoffMs, jitter: "equal" }, attempt, { random })
      : outageDelayMs(rule.backoffMs, rule.retries, rule.outageMs, attempt);
  const record = { afterSeq: failedSeq, kind: failure.kind, attempt, action: "retry" };
  if (action.type === "tool") return { action, record, delayMs };
  const sandbox: Sandbox = action.type;
  const limits = { ...(action.limits ?? {}) } as Record<string, number>;
  const failedLimits = (failure.limits ?? {}) as Record<string, unknown>;
  const current = (field: "memoryMb" | "timeoutMs" | "diskMb") =>
    typeof failedLimits[field] === "number"
      ? failedLimits[field]
      : (limits[field] ?? (policy[sandbox].defaults as Partial<Record<typeof field, number>>)[field] ?? 0);
  if (failure.kind === "out_of_memory") {
    // Not retryable: more memoryMb cannot help (a code-mode heap that outgrew its worker), the model decides.
    if (!failure.retryable) return null;
    const memoryMb = scaled(policy, sandbox, "memoryMb", current("memoryMb"), rule.memoryMultiplier);
    if (memoryMb === null) return null;
    return {
      action: { ...action, limits: { ...limits, memoryMb } } as ActionSpec,
      record: { ...record, action: "increase_memory", memoryMb },
      delayMs,
    };
  }
  if (failure.kind === "timeout") {
    const timeoutMs = scaled(policy, sandbox, "timeoutMs", current("timeoutMs"), rule.timeoutMultiplier);
    if (timeoutMs === null) return null;
    return {
      action: { ...action, limits: { ...limits, timeoutMs } } as ActionSpec,
      record: { ...record, action: "increase_timeout", timeoutMs },
      delayMs,
    };
  }
  if (failure.kind === "disk_full" && sandbox === "container") {
    // The same job on the same disk fails the same way: a disk-full retry is a bigger workspace or none.
    const diskMb = scaled(policy, sandbox, "diskMb", current("diskMb"), rule.diskMultiplier);
    if (diskMb === null) return null;
    return {
      action: { ...action, limits: { ...limits, diskMb } } as ActionSpec,
      record: { ...record, action: "increase_disk", diskMb },
      delayMs,
    };
  }
  return { action, record, delayMs };
}
