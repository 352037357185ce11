// Sizes the isolate's heap limit: isolated-vm's memoryLimit is a guideline a hostile guest can exceed 2–3×.

/** isolated-vm refuses limits under 8 MB. */
export const MIN_ISOLATE_MEMORY_MB = 8;

/**
 * The `memoryLimit` (MB) given to `new ivm.Isolate()` for a request allowed `memoryMb`.
 *
 * isolated-vm documents its limit as a guideline that a determined attacker can overshoot by 2–3×
 * before the isolate is terminated. Halving the budget keeps the worst case near 1–1.5× the policy's
 * `memoryMb`; the floor is isolated-vm's own minimum of 8 MB, so tiny budgets (< 16 MB) are only
 * approximately honoured. Honest scripts get about half their nominal budget as V8 heap (plus
 * isolated-vm's external allocations, which count against the same limit).
 *
 * @example isolateMemoryLimitMb(32) // → 16
 */
export function isolateMemoryLimitMb(memoryMb: number): number {
  if (!Number.isFinite(memoryMb) || memoryMb <= 0) return MIN_ISOLATE_MEMORY_MB;
  return Math.max(MIN_ISOLATE_MEMORY_MB, Math.floor(memoryMb / 2));
}
