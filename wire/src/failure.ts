// The failure object of FAILURES.md: what every failed execution carries, for an LLM to act on.
import { Type, type Static } from "@sinclair/typebox";

/** Every failure kind of FAILURES.md, in table order. */
export const FAILURE_KINDS = [
  "out_of_memory",
  "timeout",
  "pids_limit",
  "disk_full",
  "output_limit",
  "network_denied",
  "container_lost",
  "sandbox_unavailable",
  "image_unavailable",
  "missing_dependency",
  "syntax_error",
  "runtime_error",
  "nonzero_exit",
  "stack_overflow",
  "tool_not_allowed",
  "tool_input_invalid",
  "tool_failed",
  "policy_violation",
  "llm_failed",
  "budget_exhausted",
  "interrupted",
  "internal_error",
  "attempts_exhausted",
  "quota_exceeded",
] as const;

export const FailureKindSchema = Type.Union(
  FAILURE_KINDS.map((k) => Type.Literal(k)),
  { $id: "FailureKind" },
);
export type FailureKind = (typeof FAILURE_KINDS)[number];

export const FailureLayerSchema = Type.Union([
  Type.Literal("infrastructure"),
  Type.Literal("code"),
  Type.Literal("policy"),
  Type.Literal("tool"),
  Type.Literal("loop"),
]);
export type FailureLayer = Static<typeof FailureLayerSchema>;

/** The layer each kind belongs to (FAILURES.md "Kinds" table). */
export const FAILURE_LAYER: Record<FailureKind, FailureLayer> = {
  out_of_memory: "infrastructure",
  timeout: "infrastructure",
  pids_limit: "infrastructure",
  disk_full: "infrastructure",
  output_limit: "infrastructure",
  network_denied: "policy",
  container_lost: "infrastructure",
  sandbox_unavailable: "infrastructure",
  image_unavailable: "infrastructure",
  missing_dependency: "code",
  syntax_error: "code",
  runtime_error: "code",
  nonzero_exit: "code",
  stack_overflow: "code",
  tool_not_allowed: "policy",
  tool_input_invalid: "tool",
  tool_failed: "tool",
  policy_violation: "policy",
  llm_failed: "infrastructure",
  budget_exhausted: "loop",
  interrupted: "infrastructure",
  internal_error: "infrastructure",
  attempts_exhausted: "infrastructure",
  quota_exceeded: "policy",
};

export const RemedySchema = Type.Object(
  {
    action: Type.String({
      description:
        "e.g. increase_memory, increase_timeout, increase_disk, reduce_parallelism, use_image, avoid_dependency, retry, fix_code",
    }),
    withinPolicy: Type.Optional(Type.Boolean()),
    memoryMb: Type.Optional(Type.Number()),
    timeoutMs: Type.Optional(Type.Number()),
    diskMb: Type.Optional(Type.Number()),
    backoffMs: Type.Optional(Type.Number()),
    hint: Type.Optional(Type.String()),
    images: Type.Optional(
      Type.Array(Type.String(), {
        description: "use_image (missing_dependency): the images the policy allows that have the module",
      }),
    ),
  },
  { additionalProperties: true },
);
export type Remedy = Static<typeof RemedySchema>;

export const FailureSchema = Type.Object(
  {
    kind: FailureKindSchema,
    layer: FailureLayerSchema,
    message: Type.String(),
    retryable: Type.Boolean(),
    limits: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    usage: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    remedy: Type.Optional(RemedySchema),
    exitCode: Type.Optional(Type.Integer()),
    stdoutTail: Type.Optional(Type.String()),
    stderrTail: Type.Optional(Type.String()),
    location: Type.Optional(Type.Object({ line: Type.Integer(), column: Type.Optional(Type.Integer()) })),
    cause: Type.Optional(
      Type.Object(
        { type: Type.String(), message: Type.String(), stack: Type.Optional(Type.String()) },
        { additionalProperties: true },
      ),
    ),
    module: Type.Optional(Type.String({ description: "missing_dependency: the module that was not found" })),
    tool: Type.Optional(Type.String({ description: "tool kinds: the tool concerned" })),
    allowedTools: Type.Optional(Type.Array(Type.String())),
    errors: Type.Optional(
      Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), {
        description: "tool_input_invalid: each offending field",
      }),
    ),
    rule: Type.Optional(
      Type.String({
        description:
          "policy_violation: the rule that was broken; network_denied: the rule that refused (e.g. destination.loopback, http.allowHosts)",
      }),
    ),
    host: Type.Optional(
      Type.String({
        description: "network_denied: the host as written in the URL, or the host the egress proxy refused",
      }),
    ),
    port: Type.Optional(Type.Integer({ description: "network_denied: the port of the refused connection" })),
    address: Type.Optional(
      Type.String({ description: "network_denied: the address the host resolved to (the one refused)" }),
    ),
    range: Type.Optional(
      Type.String({
        description:
          "network_denied: the special-purpose range of the address (loopback, private, linkLocal, ...)",
      }),
    ),
    status: Type.Optional(Type.Integer({ description: "tool_failed: HTTP status" })),
    bodyTail: Type.Optional(Type.String()),
    attempts: Type.Optional(
      Type.Integer({
        description:
          "attempts_exhausted: attempts that started and died before this one; llm_failed: calls made to the provider",
      }),
    ),
    retries: Type.Optional(
      Type.Array(
        Type.Object(
          {
            attempt: Type.Integer(),
            status: Type.Optional(Type.Integer()),
            reason: Type.String(),
            retryAfterMs: Type.Optional(
              Type.Number({ description: "what the provider's Retry-After asked" }),
            ),
            delayMs: Type.Number({ description: "how long the call waited before its next attempt" }),
          },
          { additionalProperties: true },
        ),
        {
          description:
            "llm_failed: the provider-level retries of this call (attempts that failed and were retried)",
        },
      ),
    ),
    retryAfterMs: Type.Optional(
      Type.Number({ description: "llm_failed: the Retry-After of the provider's last answer, in ms" }),
    ),
  },
  { $id: "Failure", additionalProperties: true },
);
/** A structured failure (FAILURES.md). `kind`, `layer`, `message` and `retryable` are always present. */
export type Failure = Static<typeof FailureSchema>;

/**
 * Builds a failure with its layer filled in from the kind.
 * @example makeFailure("timeout", "Killed after 5000 ms", true, { limits: { timeoutMs: 5000 } })
 */
export function makeFailure(
  kind: FailureKind,
  message: string,
  retryable: boolean,
  extra: Partial<Omit<Failure, "kind" | "layer" | "message" | "retryable">> = {},
): Failure {
  return { kind, layer: FAILURE_LAYER[kind], message, retryable, ...extra };
}
