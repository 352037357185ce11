// Builds the Hono application: middleware (request ids, logs, body limit, auth), routes, error mapping.
import { Hono, type Context, type Next } from "hono";
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

/** A caller's X-Request-Id when it is short and plain (it is echoed and logged), else a new one. */
const REQUEST_ID_UNSAFE = /[^\w\-=]/;
function requestIdOf(header: string | undefined): string {
  return header && header.length <= 255 && !REQUEST_ID_UNSAFE.test(header) ? header : crypto.randomUUID();
}

/**
 * Serves the rest of the chain (unless a drain response already answers it) inside one server span per
 * request, continuing the caller's W3C trace context — only while tracing is on.
 */
function traced(c: Context<AppEnv>, drained: Response | undefined, next: Next): Promise<void> {
  return tracer().request(
    c.req.method,
    (name) => c.req.header(name),
    { "http.request.method": c.req.method, "url.path": c.req.path },
    async (span) => {
      if (!drained) await next();
      const status = (drained ?? c.res).status;
      span.set({ "http.response.status_code": status, "http.route": c.req.routePath });
      if (status >= 500) span.fail(String(status));
    },
  );
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
  // One middleware for what every request needs before auth — its id, its span, the drain check, its logger —
  // instead of four: each middleware layer is an async frame and a promise per request on the hot path.
  app.use(async (c, next) => {
    const reqId = requestIdOf(c.req.header("x-request-id"));
    c.set("requestId", reqId);
    // On a socket the header goes on the Node response itself (writeHead merges it): set through Hono it
    // allocates a WHATWG Headers per request that the adapter converts back, ~5 % of a checkpoint's CPU.
    const outgoing = c.env?.outgoing;
    if (outgoing) outgoing.setHeader("x-request-id", reqId);
    else c.header("x-request-id", reqId);
    const log = services.log.child({ reqId });
    c.set("log", log);
    const t0 = performance.now();
    const drained = drainResponse(c);
    if (tracing()) await traced(c, drained, next);
    else if (!drained) await next();
    log.debug(
      {
        method: c.req.method,
        path: c.req.path,
        status: (drained ?? c.res).status,
        ms: performance.now() - t0,
      },
      "request",
    );
    return drained;
  });
  /** Shutting down: keep-alive connections must not carry new work past the grace period. */
  const drainResponse = (c: Context<AppEnv>): Response | undefined => {
    if (!draining() || DRAIN_EXEMPT.test(c.req.path) || c.req.path === "/healthz") return undefined;
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
  };
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
