// The one place that turns errors into HTTP: HttpProblem for expected refusals, 500 for host faults.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Problem, ProblemType } from "@mend/wire";
import { Rejection, type RejectionReason } from "../core/rejection.ts";
import { QuotaExceededError, StorageUnavailableError, UnstorableValueError } from "../store/store-errors.ts";
import type { TenantLimits } from "../policy/policy-schema.ts";
import { quotaFailure } from "../engine/tenant-quotas.ts";

const TITLES: Record<ProblemType, string> = {
  "malformed-json": "Malformed JSON",
  validation: "Request does not match the schema",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  "unsupported-media-type": "Unsupported media type",
  "not-found": "Not found",
  conflict: "Conflict",
  "payload-too-large": "Payload too large",
  "rate-limited": "Too many requests",
  "policy-violation": "Policy violation",
  "not-configured": "Not configured",
  unavailable: "Service unavailable",
  storage_unavailable: "Storage unavailable",
  internal: "Internal error",
  step_input_mismatch: "Step key reused with a different input",
  quota_exceeded: "Quota exceeded",
  network_denied: "Destination refused by the destination policy",
};

/**
 * A request that cannot be executed. Thrown by routes and middleware, rendered once by the error handler.
 * @example throw new HttpProblem(404, "not-found", "run run_123 does not exist")
 */
export class HttpProblem extends Error {
  override name = "HttpProblem";
  readonly status: ContentfulStatusCode;
  readonly type: ProblemType;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    type: ProblemType,
    detail: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail);
    this.status = status;
    this.type = type;
    this.extra = extra;
    this.headers = headers;
  }
}

/** Renders a problem+json response. */
export function problemResponse(c: Context, p: HttpProblem): Response {
  const body: Problem = {
    type: `urn:mend:problem:${p.type}`,
    title: TITLES[p.type],
    status: p.status,
    detail: p.message,
    instance: c.req.path,
    requestId: c.get("requestId"),
    ...p.extra,
  };
  return new Response(JSON.stringify(body), {
    status: p.status,
    headers: { "content-type": "application/problem+json", ...p.headers },
  });
}

const REJECTION_HTTP: Record<RejectionReason, [ContentfulStatusCode, ProblemType]> = {
  invalid: [400, "validation"],
  not_found: [404, "not-found"],
  conflict: [409, "conflict"],
  too_large: [413, "payload-too-large"],
  not_configured: [422, "not-configured"],
  unavailable: [503, "unavailable"],
  rate_limited: [429, "rate-limited"],
  input_mismatch: [409, "step_input_mismatch"],
  network_denied: [422, "network_denied"],
};

/** Maps an engine refusal to its HTTP problem (the only place that knows the status codes). */
export function fromRejection(r: Rejection): HttpProblem {
  const [status, type] = REJECTION_HTTP[r.reason];
  const retry = r.details.retryAfterSeconds;
  const headers: Record<string, string> = typeof retry === "number" ? { "retry-after": String(retry) } : {};
  return new HttpProblem(status, type, r.message, r.details, headers);
}

/**
 * Store faults with an HTTP meaning: storage unavailable → 503 `storage_unavailable` with Retry-After (the
 * request wrote nothing; retrying it later is safe), an unstorable value → 400, a write past the tenant's
 * quota → 507 `quota_exceeded` carrying the `quota_exceeded` failure (nothing was written; retrying does not
 * help until space is freed or the quota raised). Null for anything else.
 */
export function fromStoreError(err: unknown, limits?: TenantLimits): HttpProblem | null {
  if (err instanceof QuotaExceededError) {
    const failure = quotaFailure(err.quota, limits?.[err.quota]);
    return new HttpProblem(507, "quota_exceeded", failure.message, { failure });
  }
  if (err instanceof StorageUnavailableError)
    return new HttpProblem(
      503,
      "storage_unavailable",
      `${err.message}; nothing of this request was acknowledged, retry it later`,
      {},
      { "retry-after": String(err.retryAfterS) },
    );
  if (err instanceof UnstorableValueError) return new HttpProblem(400, "validation", err.message);
  return null;
}

export { Rejection };
