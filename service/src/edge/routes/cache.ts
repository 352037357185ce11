// The global cache: GET /v1/cache/stats and DELETE /v1/cache?tool=, per tenant; and GET /v1/usage.
import { Hono } from "hono";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";

export function cacheRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.get("/stats", async (c) => c.json(await s.store.cacheStats(c.get("caller").tenant)));
  r.delete("/", async (c) => {
    const removed = await s.store.clearCache(c.get("caller").tenant, c.req.query("tool") || undefined);
    return c.json({ removed });
  });
  return r;
}

/** GET /v1/usage: the caller's stored bytes and open streams, with its policy's quotas. */
export function usageRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.get("/", async (c) => c.json(await s.quotas.report(c.get("caller"))));
  return r;
}
