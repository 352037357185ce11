// What a step's outcome reports: its metrics and the outcome attributes of its span.
import { telemetry } from "../lib/telemetry.ts";
import type { SpanHandle } from "../lib/tracing.ts";

/**
 * The step's metrics and its span's outcome attributes.
 * @example reportStep(span, "codemode", "failed", "timeout", 1.5);
 */
export function reportStep(
  span: SpanHandle,
  kind: string,
  status: "succeeded" | "failed" | "interrupted",
  failureKind: string | undefined,
  seconds: number,
): void {
  telemetry().step({ kind, status, failureKind, seconds });
  span.set({ "mend.step.status": status, ...(failureKind ? { "mend.failure.kind": failureKind } : {}) });
  if (failureKind) span.fail(failureKind);
}
