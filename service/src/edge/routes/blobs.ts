// GET /v1/blobs/{sha256}: a persisted artifact, visible only to the tenant whose run produced it.
import { Hono } from "hono";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpProblem } from "../problem.ts";

export function blobRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.get("/:sha256", async (c) => {
    const sha = c.req.param("sha256");
    const missing = new HttpProblem(404, "not-found", `blob ${sha} does not exist`);
    if (!(await s.store.hasBlobRef(c.get("caller").tenant, sha))) throw missing;
    const buf = await s.blobs.get(sha);
    if (!buf) throw missing;
    return c.body(new Uint8Array(buf), 200, {
      "content-type": "application/octet-stream",
      "cache-control": "private, max-age=31536000, immutable",
      etag: `"${sha}"`,
    });
  });
  return r;
}
