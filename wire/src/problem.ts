// application/problem+json (RFC 9457): the body of every HTTP error of the API.
import { Type, type Static } from "@sinclair/typebox";

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: "Machine-readable problem type, e.g. urn:mend:problem:validation" }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), {
        description: "Validation errors: the JSON path of each offending field",
      }),
    ),
  },
  { $id: "Problem", additionalProperties: true },
);
export type Problem = Static<typeof ProblemSchema>;

/** The problem types the service answers with; the suffix of `urn:mend:problem:`. */
export const PROBLEM_TYPES = [
  "malformed-json",
  "validation",
  "unauthorized",
  "forbidden",
  "unsupported-media-type",
  "not-found",
  "conflict",
  "payload-too-large",
  "rate-limited",
  "policy-violation",
  "not-configured",
  "unavailable",
  "storage_unavailable",
  "internal",
  "step_input_mismatch",
  "quota_exceeded",
  "network_denied",
] as const;
export type ProblemType = (typeof PROBLEM_TYPES)[number];
