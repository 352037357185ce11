// GET /v1/openapi.json and GET /docs: the API description, generated once per process from the route table.
import { Hono } from "hono";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { VERSION } from "../../version.ts";
import { buildOpenApi } from "./build-document.ts";
import { renderDocs } from "./render-docs.ts";

/**
 * Routes of the machine-readable and the rendered API reference (mounted at "/").
 * @example app.route("/", openapiRoutes(services))
 */
export function openapiRoutes(_s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  // Built at the first request for it, not at start-up (the document walks every wire schema).
  let built: { text: string; html: string } | null = null;
  const rendered = () => {
    if (!built) {
      const doc = buildOpenApi(VERSION);
      built = { text: JSON.stringify(doc), html: renderDocs(doc) };
    }
    return built;
  };
  r.get("/v1/openapi.json", (c) =>
    c.body(rendered().text, 200, { "content-type": "application/json", "cache-control": "no-cache" }),
  );
  r.get("/docs", (c) => c.html(rendered().html));
  return r;
}
