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
  const doc = buildOpenApi(VERSION);
  const text = JSON.stringify(doc);
  const html = renderDocs(doc);
  r.get("/v1/openapi.json", (c) =>
    c.body(text, 200, { "content-type": "application/json", "cache-control": "no-cache" }),
  );
  r.get("/docs", (c) => c.html(html));
  return r;
}
