// Makes a failure's `remedy` policy-checked: a suggested resource beyond the ceiling is capped and flagged.
import type { Failure } from "@mend/wire";
import type { Policy } from "../policy/policy-schema.ts";

const FIELDS = ["memoryMb", "timeoutMs", "diskMb"] as const;

/**
 * Caps the remedy's resources at the policy ceilings of the sandbox that failed; `withinPolicy` says whether
 * the capped value still raises the limit (false: only a human or a new policy can help).
 * @example checkRemedy(policy, oomFailure, "container").remedy // { action: "increase_memory", memoryMb: 512, withinPolicy: true }
 */
export function checkRemedy(
  policy: Policy,
  failure: Failure,
  sandbox: "codemode" | "container" | "tool",
): Failure {
  const remedy = failure.remedy;
  if (!remedy || sandbox === "tool") return failure;
  const max = policy[sandbox].max as Partial<Record<(typeof FIELDS)[number], number>>;
  const limits = (failure.limits ?? {}) as Record<string, unknown>;
  const out = { ...remedy };
  for (const field of FIELDS) {
    const wanted = out[field];
    const ceiling = max[field];
    if (typeof wanted !== "number" || ceiling === undefined) continue;
    const current = typeof limits[field] === "number" ? limits[field] : 0;
    out[field] = Math.min(wanted, ceiling);
    out.withinPolicy = out[field] > current;
  }
  return { ...failure, remedy: out };
}
