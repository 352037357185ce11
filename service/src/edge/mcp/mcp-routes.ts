// /mcp: the service as MCP tools over Streamable HTTP (stateless: a fresh server per request, same API keys).
import { Hono } from "hono";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { mcpServerFor } from "./mcp-tools.ts";
import { parseJsonText } from "../read-body.ts";

const notAllowed = () =>
  new Response(
    JSON.stringify({
      jsonrpc: "2.0",
      error: { code: -32000, message: "Method not allowed: this MCP endpoint is stateless" },
      id: null,
    }),
    { status: 405, headers: { "content-type": "application/json", allow: "POST" } },
  );

/**
 * POST /mcp answers JSON-RPC (initialize, tools/list, tools/call) as the authenticated caller; GET and
 * DELETE (server streams, sessions) are 405 in stateless mode.
 * @example app.route("/mcp", mcpRoutes(services))
 */
export function mcpRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.post("/", async (c) => {
    const server = mcpServerFor(s, c.get("caller"));
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    // The JSON-RPC body gets the same depth bound as every other request body (400 problem+json).
    const contentType = c.req.header("content-type") ?? "";
    const parsedBody = contentType.includes("json") ? parseJsonText(await c.req.text()) : undefined;
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw, parsedBody === undefined ? undefined : { parsedBody });
    } finally {
      await server.close();
    }
  });
  r.get("/", () => notAllowed());
  r.delete("/", () => notAllowed());
  return r;
}
