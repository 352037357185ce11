// Resolves who is calling (API key → tenant and policy, or the loopback `local` tenant) and applies per-tenant limits.
import type { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import type { Services } from "../services/services.ts";
import type { AppEnv } from "./app-env.ts";
import { HttpProblem } from "./problem.ts";
import { ApiKeys } from "../auth/api-keys.ts";
import { TenantRateLimiter } from "../auth/rate-limiter.ts";
import { TenantConcurrency } from "../auth/concurrency-limiter.ts";
import { foreignBrowserRequest, isLoopback } from "../auth/loopback.ts";
import { getCookie } from "hono/cookie";
import { KEY_COOKIE } from "../auth/key-cookie.ts";

/** The tenant of callers without a key, when no key exists. */
export const LOCAL_TENANT = "local";

/** Routes anyone may reach: liveness, and the inspector's sign-in form. */
const PUBLIC_PATHS = new Set(["/healthz", "/ui/login"]);

/** Routes that start an execution, counted against the tenant's `concurrentExecutions`. */
const EXECUTION_ROUTES = [/^\/v1\/executions\/?$/, /^\/v1\/runs\/[^/]+\/steps\/?$/];

/** Seconds for Retry-After when a tenant is at its concurrency limit (an execution's typical length). */
const CONCURRENCY_RETRY_AFTER_S = 1;

function unauthorized(detail: string, invalidToken: boolean): HttpProblem {
  const challenge = invalidToken ? 'Bearer realm="mend", error="invalid_token"' : 'Bearer realm="mend"';
  return new HttpProblem(401, "unauthorized", detail, {}, { "www-authenticate": challenge });
}

/** The peer address when served by @hono/node-server; undefined in `app.request` (in-process) calls. */
function remoteAddress(c: Context<AppEnv>): string | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket.remoteAddress;
}

/**
 * Sets `caller` on the context for every route except /healthz: 401 for missing, malformed, wrong or
 * revoked keys when keys exist; the `local` tenant with the `default` policy when none do (loopback
 * peers only); 429 with Retry-After beyond the tenant's request rate or concurrent executions.
 * @example app.use(authenticate(services))
 */
export function authenticate(s: Services): MiddlewareHandler<AppEnv> {
  const keys = new ApiKeys(s.store);
  const rate = new TenantRateLimiter();
  const running = new TenantConcurrency();
  return async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path)) return next();
    // Browsers (the inspector) carry the key in an HttpOnly, SameSite=Strict cookie instead of a header.
    const cookie = getCookie(c, KEY_COOKIE);
    const who = await keys.identify(
      c.req.header("authorization") ?? (cookie ? `Bearer ${cookie}` : undefined),
    );
    let tenant: string;
    let keyId: string | null = null;
    let policyName: string;
    switch (who.kind) {
      case "refused":
        if (c.req.method === "GET" && (c.req.path === "/ui" || c.req.path.startsWith("/ui/")))
          return c.redirect("/ui/login");
        throw unauthorized(who.detail, who.reason !== "missing");
      case "anonymous": {
        const peer = remoteAddress(c);
        if (peer !== undefined && !isLoopback(peer)) {
          throw unauthorized(
            "no API keys are configured, so only loopback callers are served; create one with `mend keys create --tenant NAME`",
            false,
          );
        }
        // Without keys, anything that can reach loopback is trusted: refuse what a web page could send
        // through the user's browser (DNS rebinding, cross-site requests).
        const foreign = foreignBrowserRequest(c.req.header("host"), c.req.header("origin"));
        if (foreign) {
          throw new HttpProblem(
            403,
            "forbidden",
            `${foreign}: without API keys only local, same-origin callers are served`,
          );
        }
        tenant = LOCAL_TENANT;
        policyName = "default";
        break;
      }
      case "key":
        tenant = who.key.tenant;
        keyId = who.key.id;
        policyName = who.key.policy;
    }
    const policy = s.policies.get(policyName);
    if (!policy) {
      throw new HttpProblem(
        503,
        "unavailable",
        `policy "${policyName}" of ${keyId ? `API key ${keyId}` : "the local tenant"} is not loaded; add policies/${policyName}.yaml and send SIGHUP`,
      );
    }
    const allowed = rate.take(tenant, policy.limits);
    if (!allowed.ok) {
      const seconds = Math.max(1, Math.ceil(allowed.retryAfterMs / 1000));
      throw new HttpProblem(
        429,
        "rate-limited",
        `tenant "${tenant}" is over its policy's rate of ${policy.limits.requestsPerSecond} requests per second (burst ${policy.limits.burst ?? Math.ceil(policy.limits.requestsPerSecond ?? 1)}); retry in ${seconds} s`,
        { retryAfterSeconds: seconds },
        { "retry-after": String(seconds) },
      );
    }
    c.set("caller", { tenant, keyId, policy });
    if (c.req.method !== "POST" || !EXECUTION_ROUTES.some((re) => re.test(c.req.path))) return next();
    const release = running.tryAcquire(tenant, policy.limits.concurrentExecutions);
    if (!release) {
      throw new HttpProblem(
        429,
        "rate-limited",
        `tenant "${tenant}" already runs ${policy.limits.concurrentExecutions} executions, its policy's limit of concurrent executions; retry when one finishes`,
        { retryAfterSeconds: CONCURRENCY_RETRY_AFTER_S },
        { "retry-after": String(CONCURRENCY_RETRY_AFTER_S) },
      );
    }
    try {
      await next();
    } finally {
      release();
    }
  };
}
