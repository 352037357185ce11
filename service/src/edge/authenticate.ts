// Resolves who is calling (API key → tenant and policy, or the loopback `local` tenant) and admits the request (rate).
import type { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import type { Services } from "../services/services.ts";
import type { AppEnv } from "./app-env.ts";
import { HttpProblem } from "./problem.ts";
import { ApiKeys } from "../auth/api-keys.ts";
import { foreignBrowserRequest, isLoopback } from "../auth/loopback.ts";
import { getCookie } from "hono/cookie";
import { KEY_COOKIE } from "../auth/key-cookie.ts";

/** The tenant of callers without a key, when no key exists. */
export const LOCAL_TENANT = "local";

/** Routes anyone may reach: liveness, the inspector's sign-in form, and metrics (checked by their own route). */
const PUBLIC_PATHS = new Set(["/healthz", "/ui/login", "/metrics"]);

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
 * peers only); 429 with Retry-After beyond the tenant's request rate (executions are admitted by the engine).
 * @example app.use(authenticate(services))
 */
export function authenticate(s: Services): MiddlewareHandler<AppEnv> {
  const keys = new ApiKeys(s.store);
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
    const caller = { tenant, keyId, policy };
    s.admission.request(caller);
    // The tenant's stored quotas reach the store before its first write (a no-op while they are unchanged);
    // a read writes nothing, so it needs none (and still works on a store that cannot take writes).
    if (c.req.method !== "GET" && c.req.method !== "HEAD") await s.quotas.apply(caller);
    c.set("caller", caller);
    return next();
  };
}
