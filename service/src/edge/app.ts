// Builds the Hono application: middleware (request ids, logs, body limit, auth), routes, error mapping.
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import type { Services } from "../services/services.ts";
import type { AppEnv } from "./app-env.ts";
import { fromRejection, fromStoreError, HttpProblem, problemResponse, Rejection } from "./problem.ts";
import { authenticate } from "./authenticate.ts";
import { bodyLimit } from "./body-limit.ts";
import { healthRoutes } from "./routes/health.ts";
import { executionRoutes } from "./routes/executions.ts";
import { runRoutes } from "./routes/runs.ts";
import { blobRoutes } from "./routes/blobs.ts";
import { cacheRoutes, usageRoutes } from "./routes/cache.ts";
import { toolRoutes, toolsDtsRoute, toolsPyiRoute } from "./routes/tools.ts";
import { uiRoutes } from "./ui/ui-routes.ts";
import { mcpRoutes } from "./mcp/mcp-routes.ts";
import { relayRoutes } from "./relay/relay-routes.ts";
import { openapiRoutes } from "./openapi/openapi-routes.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { tracer, tracing } from "../lib/tracing.ts";

/** What the process tells the app about its own state. */
export interface AppOptions {
  /** True once a shutdown began: new requests, even on kept-alive connections, get 503 + Connection: close. */
  draining?: () => boolean;
}

/** Requests still served while draining: answers that in-flight work waits for (client-hosted tools). */
const DRAIN_EXEMPT = /^\/v1\/relay\/executions\/[^/]+\/results\/[^/]+$/;

/**
 * The whole HTTP surface, without a listening socket (tests call `app.request` or serve it).
 * @example const app = createApp(services); serve({ fetch: app.fetch, port: 8080 })
 */
export function createApp(services: Services, opts: AppOptions = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const draining = opts.draining ?? (() => false);
  app.use(requestId({ headerName: "x-request-id" }));
  // One server span per request, continuing the caller's W3C trace context (skipped while tracing is off).
  app.use((c, next) =>
    !tracing()
      ? next()
      : tracer().request(
          c.req.method,
          (name) => c.req.header(name),
          { "http.request.method": c.req.method, "url.path": c.req.path },
          async (span) => {
            await next();
            span.set({ "http.response.status_code": c.res.status, "http.route": c.req.routePath });
            if (c.res.status >= 500) span.fail(String(c.res.status));
          },
        ),
  );
  app.use(async (c, next) => {
    if (!draining()) return next();
    // Shutting down: keep-alive connections must not carry new work past the grace period.
    if (!DRAIN_EXEMPT.test(c.req.path) && c.req.path !== "/healthz") {
      return problemResponse(
        c,
        new HttpProblem(
          503,
          "unavailable",
          "the service is shutting down; retry on another replica or after it restarts",
          { retryAfterSeconds: 1 },
          { "retry-after": "1", connection: "close" },
        ),
      );
    }
    return next();
  });
  app.use(async (c, next) => {
    const log = services.log.child({ reqId: c.get("requestId") });
    c.set("log", log);
    const t0 = performance.now();
    await next();
    log.debug(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: performance.now() - t0 },
      "request",
    );
  });
  app.use(
    bodyLimit(services.config.bodyLimitBytes, () => {
      throw new HttpProblem(
        413,
        "payload-too-large",
        `request body exceeds ${services.config.bodyLimitBytes} bytes`,
      );
    }),
  );
  app.use(authenticate(services));

  app.route("/", healthRoutes(services));
  app.route("/", metricsRoutes(services));
  app.route("/v1/executions", executionRoutes(services));
  app.route("/v1/runs", runRoutes(services));
  app.route("/v1/blobs", blobRoutes(services));
  app.route("/v1/cache", cacheRoutes(services));
  app.route("/v1/usage", usageRoutes(services));
  app.route("/v1/tools.d.ts", toolsDtsRoute(services));
  app.route("/v1/tools.pyi", toolsPyiRoute(services));
  app.route("/v1/tools", toolRoutes(services));
  app.route("/", openapiRoutes(services));
  app.route("/mcp", mcpRoutes(services));
  app.route("/v1/relay", relayRoutes(services));
  app.route("/ui", uiRoutes(services));

  app.notFound((c) =>
    problemResponse(c, new HttpProblem(404, "not-found", `no route for ${c.req.method} ${c.req.path}`)),
  );
  app.onError((err, c) => {
    if (err instanceof HttpProblem) return problemResponse(c, err);
    if (err instanceof Rejection) return problemResponse(c, fromRejection(err));
    const stored = fromStoreError(err, c.get("caller")?.policy.limits);
    if (stored) {
      c.get("log").warn(
        { err: err.message },
        stored.status === 507 ? "quota exceeded" : "storage unavailable",
      );
      return problemResponse(c, stored);
    }
    c.get("log").error({ err }, "unhandled error");
    return problemResponse(
      c,
      new HttpProblem(500, "internal", "internal error; see the service log for this request id"),
    );
  });
  return app;
}
