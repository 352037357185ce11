// A real MCP server built with the official SDK, for the tool tests: over Streamable HTTP on loopback, or stdio.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

/** Path of this file, to start it as a stdio server: `node <path> --stdio`. */
export const MCP_FIXTURE_PATH = new URL(import.meta.url).pathname;

/**
 * The fixture's tools: `add` (structured sum), `greet` (text), `fail` (isError), `secret_ok` (checks the
 * FIXTURE_TOKEN env var without revealing it).
 * @example const server = createFixtureMcpServer(); await server.connect(transport)
 */
export function createFixtureMcpServer(): McpServer {
  const server = new McpServer({ name: "mend-fixture", version: "1.0.0" });
  server.registerTool(
    "add",
    {
      description: "Adds two numbers.",
      inputSchema: { a: z.number().describe("first addend"), b: z.number().describe("second addend") },
      outputSchema: { sum: z.number() },
      annotations: { idempotentHint: true },
    },
    async ({ a, b }) => ({
      content: [{ type: "text", text: JSON.stringify({ sum: a + b }) }],
      structuredContent: { sum: a + b },
    }),
  );
  server.registerTool(
    "greet",
    { description: "Greets someone by name.", inputSchema: { name: z.string() } },
    async ({ name }) => ({ content: [{ type: "text", text: `hello ${name}` }] }),
  );
  server.registerTool(
    "fail",
    { description: "Always fails.", inputSchema: { why: z.string().optional() } },
    async ({ why }) => ({
      isError: true,
      content: [{ type: "text", text: `fixture failure: ${why ?? "no reason"}` }],
    }),
  );
  server.registerTool(
    "secret_ok",
    { description: "Whether FIXTURE_TOKEN is set to the expected value." },
    async () => ({
      content: [
        { type: "text", text: JSON.stringify({ ok: process.env.FIXTURE_TOKEN === "stdio-secret-value-42" }) },
      ],
    }),
  );
  return server;
}

export interface McpFixtureHttp {
  url: string;
  /** Headers of every HTTP request the server received. */
  requests: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/**
 * Serves the fixture over Streamable HTTP (stateless: a fresh server per request) on 127.0.0.1.
 * @example const mcp = await serveMcpFixtureHttp(); ...; await mcp.close()
 */
export async function serveMcpFixtureHttp(): Promise<McpFixtureHttp> {
  const requests: IncomingHttpHeaders[] = [];
  const http: Server = createServer((req, res) => {
    requests.push(req.headers);
    const server = createFixtureMcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

if (process.argv.includes("--stdio")) {
  await createFixtureMcpServer().connect(new StdioServerTransport());
}
