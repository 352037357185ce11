// /v1/tools: registration of HTTP tools and MCP servers, and the tool descriptions the API returns.
import { Type, type Static } from "@sinclair/typebox";

/** Lower-case dotted names: each segment becomes a namespace in code-mode (`tools.crm.find_user`). */
export const TOOL_NAME_PATTERN = "^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$";
/** An MCP server name is one segment: its tools appear as `<server>.<tool>`. */
export const MCP_SERVER_NAME_PATTERN = "^[a-z][a-z0-9_]*$";

export const ToolNameSchema = Type.String({ pattern: TOOL_NAME_PATTERN, minLength: 1, maxLength: 128 });

const JsonSchemaObject = Type.Record(Type.String(), Type.Unknown(), {
  description: "A JSON Schema (object)",
});

const HeaderMap = Type.Record(Type.String(), Type.String({ maxLength: 8192 }), {
  maxProperties: 32,
  description: "Sent with every call; stored encrypted and never returned",
});

export const CacheRuleSchema = Type.Object(
  { ttlSeconds: Type.Integer({ minimum: 1, maximum: 30 * 24 * 3600 }) },
  { additionalProperties: false },
);

export const RegisterToolSchema = Type.Object(
  {
    name: ToolNameSchema,
    description: Type.String({ minLength: 1, maxLength: 4096 }),
    inputSchema: JsonSchemaObject,
    outputSchema: Type.Optional(JsonSchemaObject),
    endpoint: Type.String({
      pattern: "^https?://",
      maxLength: 2048,
      description: "http(s) URL the service calls",
    }),
    method: Type.Optional(
      Type.Union([Type.Literal("POST"), Type.Literal("PUT"), Type.Literal("PATCH"), Type.Literal("GET")], {
        description: "POST by default; GET sends the arguments as query parameters",
      }),
    ),
    headers: Type.Optional(HeaderMap),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 300_000, description: "10000 by default" })),
    version: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: "Part of the cache key" }),
    ),
    cache: Type.Optional(CacheRuleSchema),
    idempotent: Type.Optional(
      Type.Boolean({ description: "Retried on connection errors and 5xx when true" }),
    ),
  },
  { $id: "RegisterTool", additionalProperties: false },
);
export type RegisterTool = Static<typeof RegisterToolSchema>;

export const ToolInfoSchema = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    inputSchema: JsonSchemaObject,
    outputSchema: Type.Optional(JsonSchemaObject),
    version: Type.String(),
    cache: Type.Optional(CacheRuleSchema),
    idempotent: Type.Optional(Type.Boolean()),
    source: Type.Union([Type.Literal("builtin"), Type.Literal("http"), Type.Literal("mcp")]),
    allowed: Type.Boolean({
      description: "false: registered by the tenant but not allowed by the caller's policy",
    }),
    server: Type.Optional(Type.String({ description: "mcp: the server the tool comes from" })),
    endpoint: Type.Optional(Type.String()),
    method: Type.Optional(Type.String()),
    timeoutMs: Type.Optional(Type.Integer()),
    headerNames: Type.Optional(
      Type.Array(Type.String(), {
        description: "http: names of the stored headers (values are never returned)",
      }),
    ),
    createdAt: Type.Optional(Type.String({ format: "date-time" })),
    updatedAt: Type.Optional(Type.String({ format: "date-time" })),
  },
  { $id: "ToolInfo", additionalProperties: false },
);
export type ToolInfo = Static<typeof ToolInfoSchema>;

const McpServerName = Type.String({ pattern: MCP_SERVER_NAME_PATTERN, minLength: 1, maxLength: 64 });

export const RegisterMcpServerSchema = Type.Union(
  [
    Type.Object(
      {
        name: McpServerName,
        url: Type.String({ pattern: "^https?://", maxLength: 2048, description: "Streamable HTTP endpoint" }),
        headers: Type.Optional(HeaderMap),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        name: McpServerName,
        command: Type.String({
          minLength: 1,
          maxLength: 1024,
          description: "stdio: executable started by the service",
        }),
        args: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 64 })),
        env: Type.Optional(
          Type.Record(Type.String(), Type.String({ maxLength: 8192 }), {
            maxProperties: 64,
            description: "Stored encrypted and never returned",
          }),
        ),
      },
      { additionalProperties: false },
    ),
  ],
  { $id: "RegisterMcpServer" },
);
export type RegisterMcpServer = Static<typeof RegisterMcpServerSchema>;

export const McpServerInfoSchema = Type.Object(
  {
    name: Type.String(),
    transport: Type.Union([Type.Literal("http"), Type.Literal("stdio")]),
    url: Type.Optional(Type.String()),
    command: Type.Optional(Type.String()),
    args: Type.Optional(Type.Array(Type.String())),
    headerNames: Type.Optional(Type.Array(Type.String())),
    envNames: Type.Optional(Type.Array(Type.String())),
    origin: Type.Union([Type.Literal("api"), Type.Literal("config")], {
      description: "config: from MEND_MCP_SERVERS (read-only)",
    }),
    createdAt: Type.Optional(Type.String({ format: "date-time" })),
    updatedAt: Type.Optional(Type.String({ format: "date-time" })),
  },
  { $id: "McpServerInfo", additionalProperties: false },
);
export type McpServerInfo = Static<typeof McpServerInfoSchema>;
