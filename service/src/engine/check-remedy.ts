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
  if (failure.kind === "missing_dependency" && sandbox === "container") return imagesWith(policy, failure);
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

/**
 * A missing module's remedy names the images this policy allows that have it (`container.modules`), or
 * says that none has it, so the model does without instead of trying images at random.
 */
function imagesWith(policy: Policy, failure: Failure): Failure {
  const module = typeof failure.module === "string" ? failure.module.split(".")[0]! : "";
  if (!module) return failure;
  const images = policy.container.images.filter((img) => policy.container.modules[img]?.includes(module));
  const remedy =
    images.length > 0
      ? {
          action: "use_image",
          images,
          hint: `'${module}' is installed in ${images.map((i) => `'${i}'`).join(", ")}: run the code there`,
        }
      : {
          action: "avoid_dependency",
          hint: `no image this policy allows has '${module}': do without it (or ask for an image that has it)`,
        };
  return { ...failure, remedy };
}
