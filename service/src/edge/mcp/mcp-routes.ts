// /mcp: the service as MCP tools over Streamable HTTP (stateless: a fresh server per request, same API keys).
import { Hono } from "hono";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { parseJsonText } from "../read-body.ts";

/** The MCP SDK and the tools, loaded at the first MCP request: not part of the service's start-up. */
const mcp = lazy(() =>
  Promise.all([
    import("./mcp-tools.ts"),
    import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"),
  ]),
);

/** Runs `load` once, at the first call, and shares its promise. */
function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => (p ??= load());
}

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
    const [{ mcpServerFor }, { WebStandardStreamableHTTPServerTransport }] = await mcp();
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
