// /mcp: the service as MCP tools over Streamable HTTP (stateless: a fresh server per request, same API keys).
import { Hono } from "hono";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Services } from "../services.ts";
import type { AppEnv } from "../http/app-env.ts";
import type { Caller } from "../engine/caller.ts";
import { toolsDtsRoute } from "../routes/tools.ts";
import { mcpServerFor } from "./mcp-tools.ts";

const notAllowed = () =>
  new Response(
    JSON.stringify({
      jsonrpc: "2.0",
      error: { code: -32000, message: "Method not allowed: this MCP endpoint is stateless" },
      id: null,
    }),
    { status: 405, headers: { "content-type": "application/json", allow: "POST" } },
  );

/** Renders GET /v1/tools.d.ts for a caller through the tool routes, when they serve it (404 → none). */
function dtsRenderer(s: Services): (who: Caller) => Promise<string | undefined> {
  const inner = new Hono<AppEnv & { Bindings: { who: Caller } }>();
  inner.use(async (c, next) => {
    c.set("caller", c.env.who);
    await next();
  });
  inner.route("/v1/tools.d.ts", toolsDtsRoute(s));
  return async (who) => {
    const res = await inner.request("/v1/tools.d.ts", {}, { who });
    return res.ok && (res.headers.get("content-type") ?? "").startsWith("text/") ? res.text() : undefined;
  };
}

/**
 * POST /mcp answers JSON-RPC (initialize, tools/list, tools/call) as the authenticated caller; GET and
 * DELETE (server streams, sessions) are 405 in stateless mode.
 * @example app.route("/mcp", mcpRoutes(services))
 */
export function mcpRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  const toolsDts = dtsRenderer(s);
  r.post("/", async (c) => {
    const server = mcpServerFor(s, c.get("caller"), { toolsDts });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      await server.close();
    }
  });
  r.get("/", () => notAllowed());
  r.delete("/", () => notAllowed());
  return r;
}
