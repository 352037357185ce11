// Service configuration from MEND_* environment variables, parsed once with zod at start-up.
//
// zod/mini, not zod's classic API: the same zod (core, checks, English messages) with its functions
// imported one by one instead of classic zod's `z`, which evaluates every schema class with all its methods
// and every locale. Measured alone (bundled, compile cache warm): importing classic zod, building this schema
// and parsing was ~27 ms of the main thread, with zod/mini ~6 ms. The policies (policy/policy-schema.ts)
// keep classic zod: they are parsed off the start path (policy-loader.ts loads them lazily).
import { resolve } from "node:path";
import * as z from "zod/mini";
import { en } from "zod/locales";

// zod/mini registers no locale itself (classic zod registers English on first use): without one, every
// message would be "Invalid input". An explicit locale wins over classic zod's default in either order.
z.config(en());

/** An integer from the variable's text, at least `min` and, when given, at most `max`. */
const intIn = (min: number, max?: number) =>
  z.coerce.number().check(z.int(), z.minimum(min), ...(max === undefined ? [] : [z.maximum(max)]));
const port = intIn(0, 65535);
const positiveInt = z.coerce.number().check(z.int(), z.positive());
const nonEmpty = () => z.string().check(z.minLength(1));
const flag = () => z.optional(z.enum(["0", "1", "true", "false"]));

/** A string variable turned into a value by `parse`, which returns the value or why the text is not one. */
const parsedText = <T>(parse: (text: string) => { value: T } | { problem: string }) =>
  z.pipe(
    z.string(),
    z.transform((text: string, payload) => {
      const r = parse(text);
      if ("value" in r) return r.value;
      payload.issues.push({ code: "custom", message: r.problem, input: text });
      return z.NEVER;
    }),
  );

const ConfigSchema = z.object({
  MEND_PORT: z._default(port, 8080),
  MEND_HOST: z._default(nonEmpty(), "127.0.0.1"),
  MEND_DATA_DIR: z._default(nonEmpty(), "./data"),
  MEND_DATABASE_URL: z.optional(
    z.string().check(
      z.refine((u) => {
        try {
          return /^postgres(ql)?:$/.test(new URL(u).protocol);
        } catch {
          return false;
        }
      }, "expected a PostgreSQL URL, postgres://user:password@host:port/database"),
    ),
  ),
  MEND_LOG_LEVEL: z._default(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), "info"),
  MEND_DOCKER_SOCKET: z._default(nonEmpty(), "/var/run/docker.sock"),
  MEND_DOCKER_HOSTS: z.optional(
    parsedText((text) => {
      const hosts = parseDockerHosts(text);
      return typeof hosts === "string" ? { problem: hosts } : { value: hosts };
    }),
  ),
  MEND_DOCKER_CERT_PATH: z.optional(nonEmpty()),
  MEND_ENGINE_OUTAGE_MS: z.optional(intIn(0, 600_000)),
  MEND_BODY_LIMIT_BYTES: z._default(positiveInt, 5 * 1024 * 1024),
  MEND_SHUTDOWN_GRACE_MS: z._default(intIn(0), 10_000),
  MEND_REPLICA_TTL_MS: z._default(intIn(200, 600_000), 2_000),
  MEND_POOL_SIZE: z._default(intIn(0, 64), 2),
  MEND_RUNSC_POOL_SIZE: z._default(intIn(0, 64), 0),
  MEND_POOL_MAX: z._default(intIn(0, 64), 8),
  MEND_POOL_IDLE_MS: z._default(intIn(100, 86_400_000), 60_000),
  MEND_POOL_MEMORY_MB: z._default(intIn(1, 1_048_576), 512),
  MEND_CODEMODE_WORKERS: z._default(intIn(1, 64), 4),
  MEND_PYTHON_WORKERS: z._default(intIn(1, 64), 2),
  MEND_HEAP_GROWTH_PERCENT: z._default(intIn(0, 1_000), 100),
  MEND_CONTAINER_SLOTS: z.optional(intIn(1, 1024)),
  MEND_CRASHPOINT: z.optional(
    z.string().check(z.regex(/^[a-z-]+:\d+$/, "expected <point>:<n>, e.g. after-step-start:3")),
  ),
  MEND_POLICIES_DIR: z._default(nonEmpty(), "./policies"),
  MEND_CACHE_MAX_BYTES: z._default(positiveInt, 256 * 1024 * 1024),
  MEND_LLM_PROVIDER: z.optional(z.enum(["openai", "anthropic"])),
  MEND_LLM_BASE_URL: z.optional(z.url()),
  MEND_LLM_API_KEY: z.optional(z.string()),
  MEND_LLM_MODEL: z.optional(z.string()),
  MEND_LLM_STALL_TIMEOUT_MS: z._default(positiveInt, 10_000),
  MEND_LLM_TIMEOUT_MS: z._default(positiveInt, 60_000),
  MEND_SECRET_KEY: z.optional(z.string()),
  MEND_SECRET_KEY_FILE: z.optional(nonEmpty()),
  MEND_NETWORK_ALLOW_LOOPBACK: flag(),
  MEND_HOSTS_FILE: z.optional(nonEmpty()),
  MEND_MCP_SERVERS: z.optional(
    parsedText((text) => {
      try {
        return { value: JSON.parse(text) as unknown };
      } catch (e) {
        return { problem: `not valid JSON: ${(e as Error).message}` };
      }
    }),
  ),
  MEND_MCP_ALLOW_STDIO: flag(),
  MEND_METRICS_TOKEN: z.optional(z.string().check(z.minLength(16, "use at least 16 characters"))),
});

/** One Docker engine of MEND_DOCKER_HOSTS. */
export interface DockerHost {
  name: string;
  /** `unix:///path`, `tcp://host:port` or `ssh://user@host[:port]`. */
  url: string;
}

/**
 * MEND_DOCKER_HOSTS: comma-separated `[name=]address`, address `unix:///path` (or `/path`),
 * `tcp://host:port` or `ssh://[user@]host[:port]`; unnamed engines are `e1`, `e2`, ... Returns the
 * hosts, or why the text is not such a list.
 * @example parseDockerHosts("a=unix:///var/run/docker.sock,b=tcp://10.0.0.2:2376") // [{ name: "a", ... }, ...]
 */
export function parseDockerHosts(text: string): DockerHost[] | string {
  const entries = text
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  if (entries.length === 0) return "expected at least one engine address";
  if (entries.length > 64) return "at most 64 engines";
  const hosts: DockerHost[] = [];
  for (const [i, entry] of entries.entries()) {
    const m = /^([a-z0-9][a-z0-9_-]{0,31})=(.+)$/i.exec(entry);
    const name = m?.[1] ?? `e${i + 1}`;
    let url = m?.[2] ?? entry;
    if (url.startsWith("/")) url = `unix://${url}`;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return `engine ${i + 1} (${name}): not an address; expected unix:///path, tcp://host:port or ssh://user@host`;
    }
    if (parsed.protocol === "unix:") {
      if (!parsed.pathname.startsWith("/") || parsed.pathname.length < 2)
        return `engine ${name}: unix:// needs an absolute socket path`;
    } else if (parsed.protocol === "tcp:" || parsed.protocol === "ssh:") {
      if (parsed.hostname === "") return `engine ${name}: ${parsed.protocol}// needs a host`;
      if (parsed.password !== "") return `engine ${name}: no password in the address (use keys)`;
    } else return `engine ${name}: unsupported scheme ${parsed.protocol} (unix://, tcp://, ssh://)`;
    if (hosts.some((h) => h.name === name)) return `engine name ${name} appears twice`;
    hosts.push({ name, url });
  }
  return hosts;
}

/** The parsed configuration. Durations carry their unit in the name. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** MEND_DATABASE_URL: the PostgreSQL store (else SQLite in the data dir). */
  databaseUrl: string | undefined;
  logLevel: z.infer<typeof ConfigSchema>["MEND_LOG_LEVEL"];
  dockerSocket: string;
  /** MEND_DOCKER_HOSTS: the engines containers are placed on (else one, `local`, on MEND_DOCKER_SOCKET). */
  dockerHosts: DockerHost[];
  /** MEND_DOCKER_CERT_PATH: TLS client certificates (ca.pem, cert.pem, key.pem) of tcp:// engines. */
  dockerCertPath: string | undefined;
  /** MEND_ENGINE_OUTAGE_MS: how long a job waits for its engine to answer again (undefined: 10 s with one engine, 0 with several). */
  engineOutageMs: number | undefined;
  bodyLimitBytes: number;
  shutdownGraceMs: number;
  /**
   * MEND_REPLICA_TTL_MS: how long a replica's heartbeat keeps its leases and started steps its own; past it,
   * another replica on the same PostgreSQL database takes them over.
   */
  replicaTtlMs: number;
  poolSize: number;
  /** MEND_RUNSC_POOL_SIZE: warm python containers on runsc (gVisor), for policies that choose it. */
  runscPoolSize: number;
  /**
   * The warm pool's growth: each pooled image grows from its size toward `max` (MEND_POOL_MAX) per engine
   * while misses show demand, shrinks back after `idleMs` (MEND_POOL_IDLE_MS) without a miss, and its idle
   * containers hold at most `memoryMb` (MEND_POOL_MEMORY_MB) per engine beyond which it stops growing.
   */
  poolGrowth: { max: number; idleMs: number; memoryMb: number };
  codemodeWorkers: number;
  /** MEND_PYTHON_WORKERS: child processes running Python code-mode (Monty). */
  pythonWorkers: number;
  /**
   * MEND_HEAP_GROWTH_PERCENT: how far the main heap may grow past the live objects of the last full GC
   * (`mend serve` only; 0: V8's own factor, up to 300 %).
   */
  heapGrowthPercent: number;
  /** MEND_CONTAINER_SLOTS: containers running at once, shared fairly between tenants (undefined: by cores). */
  containerSlots: number | undefined;
  crashpoint: string | undefined;
  policiesDir: string;
  cacheMaxBytes: number;
  llm: { provider?: "openai" | "anthropic"; baseUrl?: string; apiKey?: string; model?: string };
  /**
   * MEND_LLM_STALL_TIMEOUT_MS: a model call that sends nothing for this long (no headers, no streamed
   * chunk) is abandoned and retried at once. MEND_LLM_TIMEOUT_MS: the most one call may take in all.
   */
  llmTimeouts: { stallMs: number; callMs: number };
  /** MEND_SECRET_KEY: the key that seals tool credentials (else a key file in the data dir). */
  secretKey: string | undefined;
  /** MEND_SECRET_KEY_FILE: the key file (a keyring after rotation); default `<dataDir>/secret.key`. */
  secretKeyFile: string | undefined;
  /** MEND_NETWORK_ALLOW_LOOPBACK: tenant tools and MCP servers may reach loopback addresses (local development). */
  networkAllowLoopback: boolean;
  /** MEND_HOSTS_FILE: operator name→address map (hosts format) consulted before DNS for tenant destinations. */
  hostsFile: string | undefined;
  /** MEND_MCP_SERVERS, parsed JSON (entries are checked by the tool registry). */
  mcpServers: unknown;
  /** MEND_MCP_ALLOW_STDIO: tenants may register stdio MCP servers (commands on this host). */
  mcpAllowStdio: boolean;
  /** MEND_METRICS_TOKEN: the bearer token of GET /metrics (unset: loopback callers only). */
  metricsToken: string | undefined;
  /** Traces are exported (OTLP over HTTP) because OTEL_* variables ask for it (see tracingEnabled). */
  tracing: boolean;
}

/** Variables whose value may hold a credential: never echoed in an error. */
const SECRET_VARIABLES = new Set([
  "MEND_DATABASE_URL",
  "MEND_SECRET_KEY",
  "MEND_LLM_API_KEY",
  "MEND_METRICS_TOKEN",
]);

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
    dockerHosts: c.MEND_DOCKER_HOSTS ?? [{ name: "local", url: `unix://${c.MEND_DOCKER_SOCKET}` }],
    dockerCertPath: c.MEND_DOCKER_CERT_PATH,
    engineOutageMs: c.MEND_ENGINE_OUTAGE_MS,
    bodyLimitBytes: c.MEND_BODY_LIMIT_BYTES,
    shutdownGraceMs: c.MEND_SHUTDOWN_GRACE_MS,
    replicaTtlMs: c.MEND_REPLICA_TTL_MS,
    poolSize: c.MEND_POOL_SIZE,
    runscPoolSize: c.MEND_RUNSC_POOL_SIZE,
    poolGrowth: { max: c.MEND_POOL_MAX, idleMs: c.MEND_POOL_IDLE_MS, memoryMb: c.MEND_POOL_MEMORY_MB },
    codemodeWorkers: c.MEND_CODEMODE_WORKERS,
    pythonWorkers: c.MEND_PYTHON_WORKERS,
    heapGrowthPercent: c.MEND_HEAP_GROWTH_PERCENT,
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
    llmTimeouts: { stallMs: c.MEND_LLM_STALL_TIMEOUT_MS, callMs: c.MEND_LLM_TIMEOUT_MS },
    secretKey: c.MEND_SECRET_KEY,
    secretKeyFile: c.MEND_SECRET_KEY_FILE === undefined ? undefined : resolve(c.MEND_SECRET_KEY_FILE),
    networkAllowLoopback: c.MEND_NETWORK_ALLOW_LOOPBACK === "1" || c.MEND_NETWORK_ALLOW_LOOPBACK === "true",
    hostsFile: c.MEND_HOSTS_FILE === undefined ? undefined : resolve(c.MEND_HOSTS_FILE),
    mcpServers: c.MEND_MCP_SERVERS,
    mcpAllowStdio: c.MEND_MCP_ALLOW_STDIO === "1" || c.MEND_MCP_ALLOW_STDIO === "true",
    metricsToken: c.MEND_METRICS_TOKEN,
    tracing: tracingEnabled(env),
  };
}

/**
 * Whether the standard OpenTelemetry variables ask for traces: an OTLP endpoint is set (all signals or
 * traces), the traces exporter is not `none`, and the SDK is not disabled. The SDK reads the rest itself.
 * @example tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }) // true
 */
export function tracingEnabled(env: Record<string, string | undefined>): boolean {
  if (env.OTEL_SDK_DISABLED === "true") return false;
  const exporter = env.OTEL_TRACES_EXPORTER;
  if (exporter !== undefined && exporter !== "" && !exporter.split(",").includes("otlp")) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || exporter);
}
