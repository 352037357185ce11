// GET /metrics: the Prometheus exposition, for the operator's scraper only (a token, or loopback).
import { timingSafeEqual, createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Hono, type Context } from "hono";
import { isLoopback } from "../../auth/loopback.ts";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpProblem } from "../problem.ts";

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * With MEND_METRICS_TOKEN set: `Authorization: Bearer <token>` (401 without it, 403 with another one).
 * Unset: loopback peers only (403 for others). Tenants' API keys never open it: metrics span tenants.
 * @example app.route("/", metricsRoutes(services))
 */
export function metricsRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.get("/metrics", async (c) => {
    admit(c, s.config.metricsToken);
    const body = await s.metrics.exposition();
    return c.body(body, 200, { "content-type": s.metrics.contentType });
  });
  return r;
}

function admit(c: Context<AppEnv>, token: string | undefined): void {
  if (token === undefined) {
    const peer = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket.remoteAddress;
    if (peer === undefined || isLoopback(peer)) return;
    throw new HttpProblem(
      403,
      "forbidden",
      "GET /metrics is served to loopback callers only; set MEND_METRICS_TOKEN to scrape it from elsewhere",
    );
  }
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  if (!m) {
    throw new HttpProblem(
      401,
      "unauthorized",
      "GET /metrics needs Authorization: Bearer <MEND_METRICS_TOKEN>",
      {},
      {
        "www-authenticate": 'Bearer realm="mend-metrics"',
      },
    );
  }
  if (!timingSafeEqual(digest(m[1]!), digest(token))) {
    throw new HttpProblem(403, "forbidden", "the bearer token is not MEND_METRICS_TOKEN");
  }
}
