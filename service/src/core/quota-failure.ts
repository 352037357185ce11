// The failure of something a quota of the policy's `limits` refused (kind `quota_exceeded`): one wording for
// the store's quotas (journal, blobs), the tool-call size bounds and the edge's 507.
import { makeFailure, type Failure } from "@mend/wire";

/** The quotas of `limits` (what `GET /v1/usage` reports beside the stored bytes). */
export type QuotaName =
  "journalBytes" | "blobBytes" | "cacheBytes" | "toolArgsBytes" | "toolResultBytes" | "sseStreams";

/** Every quota of `limits`, with what it bounds. */
const WHAT: Record<QuotaName, string> = {
  journalBytes: "journal (runs, steps, tool calls, checkpoints)",
  blobBytes: "blob storage",
  cacheBytes: "tool-result cache",
  toolArgsBytes: "tool-call arguments",
  toolResultBytes: "tool-call result",
  sseStreams: "open event streams",
};

/**
 * The failure of something refused by a quota: nothing of it was stored (or sent). Not retryable as is:
 * it succeeds only once the tenant frees space or its policy raises the limit.
 * @example quotaFailure("journalBytes", 1 << 30).kind // "quota_exceeded"
 */
export function quotaFailure(
  quota: QuotaName,
  limit?: number,
  extra: { used?: number; tool?: string } = {},
): Failure {
  const of = limit === undefined ? "" : ` of ${limit} bytes`;
  const size = extra.used === undefined ? "" : ` (${extra.used} bytes)`;
  const message =
    quota === "toolArgsBytes" || quota === "toolResultBytes"
      ? `The ${WHAT[quota]}${extra.tool ? ` of "${extra.tool}"` : ""}${size} is over the policy's limits.${quota}${of}; nothing was ${quota === "toolArgsBytes" ? "sent" : "kept"}. Pass a smaller value (store large data with blobs.put and pass its sha256).`
      : `The tenant's ${WHAT[quota]} quota (policy limits.${quota}${of}) is used up; nothing of this was stored. Store less (smaller inputs, outputs and files), or ask the operator for a larger quota: runs and blobs cannot be deleted through the API yet.`;
  return makeFailure("quota_exceeded", message, false, {
    ...(limit === undefined ? {} : { limits: { [quota]: limit } }),
    ...(extra.used === undefined ? {} : { usage: { [quota]: extra.used } }),
    ...(extra.tool ? { tool: extra.tool } : {}),
    remedy: { action: quota.startsWith("tool") ? "fix_arguments" : "ask_operator", withinPolicy: false },
  });
}

/** The quota names in report order. */
export const QUOTA_NAMES = Object.keys(WHAT) as QuotaName[];
