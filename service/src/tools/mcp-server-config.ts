// How an MCP server is reached (Streamable HTTP URL or stdio command), from the API or from MEND_MCP_SERVERS.
import { Value } from "@sinclair/typebox/value";
import { RegisterMcpServerSchema, type RegisterMcpServer } from "@mend/wire";

/** What the store keeps of an MCP server (`ToolRecord.spec`); header and env values live in the encrypted secret. */
export interface McpServerSpec {
  kind: "mcp-server";
  transport: "http" | "stdio";
  url?: string;
  command?: string;
  args?: string[];
  headerNames?: string[];
  envNames?: string[];
}

/** A server with its secrets opened: everything needed to connect. */
export type McpServerParams =
  | { name: string; transport: "http"; url: string; headers: Record<string, string> }
  | { name: string; transport: "stdio"; command: string; args: string[]; env: Record<string, string> };

/** An MCP server known for a tenant; `fingerprint` changes whenever its configuration does. */
export interface McpServerEntry {
  name: string;
  spec: McpServerSpec;
  origin: "api" | "config";
  fingerprint: string;
  createdAt?: number;
  updatedAt?: number;
  /** Opens the secrets (decrypts) only when a connection is made. */
  params(): Promise<McpServerParams>;
}

/** Record names of MCP servers, kept apart from tool names in the tools table. */
export const MCP_RECORD_PREFIX = "mcp-server:";

/** Raised for a bad MEND_MCP_SERVERS; the message names the entry and the field. */
export class McpConfigError extends Error {
  override name = "McpConfigError";
}

/** Splits a registration into its stored spec and its secret part. */
export function splitMcpServer(body: RegisterMcpServer): {
  spec: McpServerSpec;
  secret: Record<string, Record<string, string>>;
} {
  if ("url" in body) {
    const headers = lowerKeys(body.headers ?? {});
    return {
      spec: {
        kind: "mcp-server",
        transport: "http",
        url: body.url,
        headerNames: Object.keys(headers).sort(),
      },
      secret: Object.keys(headers).length ? { headers } : {},
    };
  }
  const env = body.env ?? {};
  return {
    spec: {
      kind: "mcp-server",
      transport: "stdio",
      command: body.command,
      args: body.args ?? [],
      envNames: Object.keys(env).sort(),
    },
    secret: Object.keys(env).length ? { env } : {},
  };
}

/** Builds connection parameters from a spec and its opened secret. */
export function mcpParams(
  name: string,
  spec: McpServerSpec,
  secret: Record<string, Record<string, string>>,
): McpServerParams {
  if (spec.transport === "http")
    return { name, transport: "http", url: spec.url ?? "", headers: secret.headers ?? {} };
  return {
    name,
    transport: "stdio",
    command: spec.command ?? "",
    args: spec.args ?? [],
    env: secret.env ?? {},
  };
}

/**
 * Checks MEND_MCP_SERVERS (already parsed from JSON by the config): an array of registrations, or an
 * object of name → registration without name.
 * @example mcpServersFromConfig({ files: { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"] } })
 */
export function mcpServersFromConfig(doc: unknown): RegisterMcpServer[] {
  if (doc === undefined || doc === null) return [];
  const list: unknown[] = Array.isArray(doc)
    ? doc
    : typeof doc === "object" && doc !== null
      ? Object.entries(doc).map(([name, v]) => ({ name, ...(v as object) }))
      : [];
  if (!Array.isArray(doc) && (typeof doc !== "object" || doc === null)) {
    throw new McpConfigError("MEND_MCP_SERVERS: expected a JSON array or object of servers");
  }
  return list.map((entry, i) => {
    if (Value.Check(RegisterMcpServerSchema, entry)) return entry;
    const name = (entry as { name?: unknown })?.name;
    throw new McpConfigError(
      `MEND_MCP_SERVERS[${typeof name === "string" ? name : i}]: expected {name, url, headers?} or {name, command, args?, env?} (name: lower-case letters, digits, _)`,
    );
  });
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}
