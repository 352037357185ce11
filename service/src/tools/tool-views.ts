// The API views of registered HTTP tools and MCP servers: what a listing shows, never a credential.
import type { McpServerInfo, ToolInfo } from "@mend/wire";
import type { HttpToolSpec } from "./http-tool.ts";
import type { McpServerSpec } from "./mcp-server-config.ts";

/** A tool's API view before the caller's policy adds `allowed`. */
export type RegisteredToolInfo = Omit<ToolInfo, "allowed">;

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * The API view of an HTTP tool: its header names, never their values.
 * @example httpToolInfo("weather.today", spec, record).headerNames // ["authorization"]
 */
export function httpToolInfo(
  name: string,
  spec: HttpToolSpec,
  times?: { createdAt?: number; updatedAt?: number },
): RegisteredToolInfo {
  return {
    name,
    description: spec.description,
    inputSchema: spec.inputSchema,
    ...(spec.outputSchema ? { outputSchema: spec.outputSchema } : {}),
    version: spec.version,
    ...(spec.cache ? { cache: spec.cache } : {}),
    idempotent: spec.idempotent,
    source: "http",
    endpoint: spec.endpoint,
    method: spec.method,
    timeoutMs: spec.timeoutMs,
    headerNames: spec.headerNames,
    ...(times?.createdAt !== undefined ? { createdAt: iso(times.createdAt) } : {}),
    ...(times?.updatedAt !== undefined ? { updatedAt: iso(times.updatedAt) } : {}),
  };
}

/**
 * The API view of an MCP server: its header and environment names, never their values.
 * @example mcpServerInfo("github", spec, "api", record).origin // "api"
 */
export function mcpServerInfo(
  name: string,
  spec: McpServerSpec,
  origin: "api" | "config",
  times: { createdAt?: number; updatedAt?: number },
): McpServerInfo {
  return {
    name,
    transport: spec.transport,
    ...(spec.url ? { url: spec.url } : {}),
    ...(spec.command ? { command: spec.command, args: spec.args ?? [] } : {}),
    ...(spec.headerNames ? { headerNames: spec.headerNames } : {}),
    ...(spec.envNames ? { envNames: spec.envNames } : {}),
    origin,
    ...(times.createdAt !== undefined ? { createdAt: iso(times.createdAt) } : {}),
    ...(times.updatedAt !== undefined ? { updatedAt: iso(times.updatedAt) } : {}),
  };
}
