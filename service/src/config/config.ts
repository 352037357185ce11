// Service configuration from MEND_* environment variables, parsed once with zod at start-up.
import { resolve } from "node:path";
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const ConfigSchema = z.object({
  MEND_PORT: port.default(8080),
  MEND_HOST: z.string().min(1).default("127.0.0.1"),
  MEND_DATA_DIR: z.string().min(1).default("./data"),
  MEND_DATABASE_URL: z
    .string()
    .refine((u) => {
      try {
        return /^postgres(ql)?:$/.test(new URL(u).protocol);
      } catch {
        return false;
      }
    }, "expected a PostgreSQL URL, postgres://user:password@host:port/database")
    .optional(),
  MEND_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  MEND_DOCKER_SOCKET: z.string().min(1).default("/var/run/docker.sock"),
  MEND_BODY_LIMIT_BYTES: positiveInt.default(5 * 1024 * 1024),
  MEND_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  MEND_REPLICA_TTL_MS: z.coerce.number().int().min(200).max(600_000).default(2_000),
  MEND_POOL_SIZE: z.coerce.number().int().min(0).max(64).default(2),
  MEND_CODEMODE_WORKERS: z.coerce.number().int().min(1).max(64).default(4),
  MEND_PYTHON_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  MEND_CONTAINER_SLOTS: z.coerce.number().int().min(1).max(1024).optional(),
  MEND_CRASHPOINT: z
    .string()
    .regex(/^[a-z-]+:\d+$/, "expected <point>:<n>, e.g. after-step-start:3")
    .optional(),
  MEND_POLICIES_DIR: z.string().min(1).default("./policies"),
  MEND_CACHE_MAX_BYTES: positiveInt.default(256 * 1024 * 1024),
  MEND_LLM_PROVIDER: z.enum(["openai", "anthropic"]).optional(),
  MEND_LLM_BASE_URL: z.string().url().optional(),
  MEND_LLM_API_KEY: z.string().optional(),
  MEND_LLM_MODEL: z.string().optional(),
  MEND_SECRET_KEY: z.string().optional(),
  MEND_MCP_SERVERS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (e) {
        ctx.addIssue({ code: "custom", message: `not valid JSON: ${(e as Error).message}` });
        return z.NEVER;
      }
    })
    .optional(),
  MEND_MCP_ALLOW_STDIO: z.enum(["0", "1", "true", "false"]).optional(),
});

/** The parsed configuration. Durations carry their unit in the name. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** MEND_DATABASE_URL: the PostgreSQL store (else SQLite in the data dir). */
  databaseUrl: string | undefined;
  logLevel: z.infer<typeof ConfigSchema>["MEND_LOG_LEVEL"];
  dockerSocket: string;
  bodyLimitBytes: number;
  shutdownGraceMs: number;
  /**
   * MEND_REPLICA_TTL_MS: how long a replica's heartbeat keeps its leases and started steps its own; past it,
   * another replica on the same PostgreSQL database takes them over.
   */
  replicaTtlMs: number;
  poolSize: number;
  codemodeWorkers: number;
  /** MEND_PYTHON_WORKERS: child processes running Python code-mode (Monty). */
  pythonWorkers: number;
  /** MEND_CONTAINER_SLOTS: containers running at once, shared fairly between tenants (undefined: by cores). */
  containerSlots: number | undefined;
  crashpoint: string | undefined;
  policiesDir: string;
  cacheMaxBytes: number;
  llm: { provider?: "openai" | "anthropic"; baseUrl?: string; apiKey?: string; model?: string };
  /** MEND_SECRET_KEY: the key that seals tool credentials (else a key file in the data dir). */
  secretKey: string | undefined;
  /** MEND_MCP_SERVERS, parsed JSON (entries are checked by the tool registry). */
  mcpServers: unknown;
  /** MEND_MCP_ALLOW_STDIO: tenants may register stdio MCP servers (commands on this host). */
  mcpAllowStdio: boolean;
}

/** Variables whose value may hold a credential: never echoed in an error. */
const SECRET_VARIABLES = new Set(["MEND_DATABASE_URL", "MEND_SECRET_KEY", "MEND_LLM_API_KEY"]);

/** Raised for a bad MEND_* variable; its message is one line naming the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Parses the environment into a Config, or throws ConfigError naming the first bad variable.
 * @example loadConfig({ MEND_PORT: "9000" }).port // 9000
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const picked = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith("MEND_") && v !== ""),
  );
  const parsed = ConfigSchema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? "MEND_*");
    const shown = SECRET_VARIABLES.has(name) ? "<redacted>" : JSON.stringify(env[name] ?? "");
    throw new ConfigError(`invalid ${name}=${shown}: ${issue.message}`);
  }
  const c = parsed.data;
  return {
    port: c.MEND_PORT,
    host: c.MEND_HOST,
    dataDir: resolve(c.MEND_DATA_DIR),
    databaseUrl: c.MEND_DATABASE_URL,
    logLevel: c.MEND_LOG_LEVEL,
    dockerSocket: c.MEND_DOCKER_SOCKET,
    bodyLimitBytes: c.MEND_BODY_LIMIT_BYTES,
    shutdownGraceMs: c.MEND_SHUTDOWN_GRACE_MS,
    replicaTtlMs: c.MEND_REPLICA_TTL_MS,
    poolSize: c.MEND_POOL_SIZE,
    codemodeWorkers: c.MEND_CODEMODE_WORKERS,
    pythonWorkers: c.MEND_PYTHON_WORKERS,
    containerSlots: c.MEND_CONTAINER_SLOTS,
    crashpoint: c.MEND_CRASHPOINT,
    policiesDir: resolve(c.MEND_POLICIES_DIR),
    cacheMaxBytes: c.MEND_CACHE_MAX_BYTES,
    llm: {
      provider: c.MEND_LLM_PROVIDER,
      baseUrl: c.MEND_LLM_BASE_URL,
      apiKey: c.MEND_LLM_API_KEY,
      model: c.MEND_LLM_MODEL,
    },
    secretKey: c.MEND_SECRET_KEY,
    mcpServers: c.MEND_MCP_SERVERS,
    mcpAllowStdio: c.MEND_MCP_ALLOW_STDIO === "1" || c.MEND_MCP_ALLOW_STDIO === "true",
  };
}
