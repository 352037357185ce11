// Budget accounting of a hosted run, recomputed on replay from the journal (nothing kept outside it).
import type { Policy } from "../policy/policy-schema.ts";

export interface BudgetState {
  /** Iterations since the run started or since the last human answer. */
  iterations: number;
  consecutiveFailures: number;
  tokens: number;
}

export type Exhaustion = {
  budget: "iterations" | "consecutiveFailures" | "tokens" | "wallMs";
  limit: number;
  used: number;
};

/** The first budget that is spent, or null. */
export function exhausted(
  policy: Policy,
  s: BudgetState,
  startedAtMs: number,
  nowMs: number,
): Exhaustion | null {
  const b = policy.budgets;
  if (s.iterations >= b.iterations) return { budget: "iterations", limit: b.iterations, used: s.iterations };
  if (s.consecutiveFailures >= b.consecutiveFailures) {
    return { budget: "consecutiveFailures", limit: b.consecutiveFailures, used: s.consecutiveFailures };
  }
  if (s.tokens >= b.tokens) return { budget: "tokens", limit: b.tokens, used: s.tokens };
  if (nowMs - startedAtMs >= b.wallMs)
    return { budget: "wallMs", limit: b.wallMs, used: nowMs - startedAtMs };
  return null;
}
