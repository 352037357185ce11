// GET /healthz: 200 when the store can commit a write, 503 with the reason when it cannot; Docker and images are informative.
import { Hono } from "hono";
import type { Health } from "@mend/wire";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { VERSION } from "../../version.ts";

export function healthRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.get("/healthz", async (c) => {
    let storeError: string | undefined;
    try {
      await s.store.ping();
    } catch (e) {
      storeError = (e as Error).message;
    }
    const [docker, images] = s.containers
      ? await Promise.all([s.containers.engineInfo(), s.containers.images().catch(() => [])])
      : [{ available: false }, []];
    const body: Health = {
      ok: storeError === undefined,
      version: VERSION,
      store: storeError === undefined ? { kind: s.store.kind } : { kind: s.store.kind, error: storeError },
      docker,
      images,
    };
    return c.json(body, body.ok ? 200 : 503);
  });
  return r;
}
