// The policy file format (YAML, validated with zod): tools, limits per sandbox, images, cache, remediation, budgets, tenant limits.
import { z } from "zod";
import {
  CODEMODE_ENGINES,
  CODEMODE_LANGUAGES,
  FAILURE_KINDS,
  type CodeModeEngineName,
  type CodeModeLanguageName,
} from "@mend/wire";
import {
  CONTAINER_RUNTIMES,
  parseAllowEntry,
  parseDestinationRule,
  type ContainerNetwork,
  type ContainerRuntime,
} from "@mend/sandboxes";

/** A strict object whose unknown-key error lists the keys that are expected there. */
function strict<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === "unrecognized_keys"
        ? `unknown key ${iss.keys.map((k) => `"${k}"`).join(", ")}; expected one of: ${known}`
        : undefined,
  });
}

/** A container's network: none, or an egress allowlist of `host`, `host:port` or `[v6]:port` entries. */
const containerNetwork = z.union([
  z.literal("none"),
  strict({
    mode: z.literal("allowlist"),
    hosts: z
      .array(
        z
          .string()
          .max(260)
          .refine(
            (h) => {
              try {
                parseAllowEntry(h);
                return true;
              } catch {
                return false;
              }
            },
            { message: "expected host, host:port or [v6]:port" },
          ),
      )
      .max(64)
      .describe("destinations the proxy admits; an entry without a port admits ports 80 and 443"),
  }),
]);

/** Where a tenant's own tools come from (`tools.registered`). */
export const TOOL_SOURCES = ["http", "mcp"] as const;
export type ToolSourceKind = (typeof TOOL_SOURCES)[number];

const codemodeLimits = strict({
  memoryMb: z.number().positive().describe("heap limit of the script's runtime, MiB"),
  timeoutMs: z.number().int().positive().describe("wall-clock limit of one script, ms"),
  stackKb: z.number().int().min(16).describe("stack size, KiB"),
  maxToolCalls: z.number().int().min(0).describe("tool calls one script may make"),
  maxLogBytes: z.number().int().min(0).describe("console output kept, bytes"),
  maxResultBytes: z.number().int().min(0).describe("size of the returned value as JSON, bytes"),
});

const containerLimits = strict({
  memoryMb: z.number().min(6).describe("memory (and memory+swap) limit, MiB"),
  cpus: z.number().positive().describe("CPU share, in cores"),
  timeoutMs: z.number().int().positive().describe("wall-clock limit, ms"),
  diskMb: z.number().positive().describe("writable tmpfs size, MiB"),
  pids: z.number().int().min(4).describe("process/thread limit"),
  outputBytes: z.number().int().min(1024).describe("stdout+stderr kept, bytes"),
});

const ceiling = strict({
  memoryMb: z.number().positive().optional(),
  timeoutMs: z.number().int().positive().optional(),
  diskMb: z.number().positive().optional(),
});

const remediationRule = strict({
  retries: z.number().int().min(0).max(10).describe("automatic retries before the failure reaches the model"),
  backoffMs: z.number().int().min(0).default(0).describe("first delay; doubles each retry, with jitter"),
  outageMs: z
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .optional()
    .describe(
      "an outage the retries must outlast (engine loss): the first retry waits backoffMs, later ones grow so that all of them together span this window",
    ),
  memoryMultiplier: z.number().min(1).optional().describe("out_of_memory: multiply memory each retry"),
  timeoutMultiplier: z
    .number()
    .min(1)
    .optional()
    .describe("timeout: multiply the wall-clock limit each retry"),
  diskMultiplier: z.number().min(1).optional().describe("disk_full: multiply the disk size each retry"),
  ceiling: ceiling
    .optional()
    .describe(
      "upper bound of the multiplied resources (never above the sandbox maximum, which applies when omitted)",
    ),
});

const budgets = strict({
  iterations: z.number().int().positive().describe("LLM iterations of a hosted run"),
  consecutiveFailures: z
    .number()
    .int()
    .positive()
    .describe("failed steps in a row before the budget is spent"),
  wallMs: z.number().int().positive().describe("wall-clock time of a hosted run, ms"),
  tokens: z.number().int().positive().describe("LLM tokens of a hosted run"),
  outageMs: z
    .number()
    .int()
    .positive()
    .describe(
      "how long a hosted run keeps calling a failing model provider (durable backoff, remediation.llm_failed) before it asks a human, ms",
    ),
  onExhausted: z.enum(["ask_human", "fail"]).describe("what happens when a budget is spent"),
  clientIdleMs: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      "a client-driven run still running with no activity for this long is shown as abandoned by the inspector, ms (default 1 hour)",
    ),
});

const tenantLimits = strict({
  requestsPerSecond: z
    .number()
    .positive()
    .optional()
    .describe("sustained HTTP requests per second per tenant (token bucket)"),
  burst: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe("bucket size: requests allowed at once (default: requestsPerSecond rounded up)"),
  concurrentExecutions: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe("executions (HTTP, MCP, relay, hosted runs) running at once per tenant"),
  maxAttempts: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      "attempts one step may start before it fails as attempts_exhausted (default 8): a step whose attempts keep dying with the service is not re-executed forever",
    ),
  journalBytes: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      "quota: bytes of journal the tenant may store (runs, steps, tool calls, checkpoints); a write past it fails as quota_exceeded (default 1 GiB)",
    ),
  blobBytes: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("quota: bytes of blobs the tenant may reference (default 2 GiB)"),
  cacheBytes: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      "the tenant's share of the tool-result cache; beyond it the tenant's own least recently used entries are evicted (default 64 MiB)",
    ),
  toolArgsBytes: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      "largest tool-call arguments (JSON bytes); larger calls fail as quota_exceeded (default 4 MiB)",
    ),
  toolResultBytes: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      "largest tool-call result (JSON bytes); a larger result fails as quota_exceeded (default 16 MiB)",
    ),
  sseStreams: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe("event streams (SSE) the tenant may hold open at once per replica; more get 429 (default 32)"),
  share: z
    .number()
    .positive()
    .max(1000)
    .optional()
    .describe(
      "relative weight of the tenant's code-mode CPU and container capacity when tenants compete (default 1)",
    ),
});

const failureKindKeys = (what: string) => ({
  error: (iss: { code?: string; keys?: string[] }) =>
    iss.code === "unrecognized_keys"
      ? `unknown failure kind ${(iss.keys ?? []).map((k) => `"${k}"`).join(", ")} in ${what}; expected one of: ${FAILURE_KINDS.join(", ")}`
      : undefined,
});

const partial = <T extends z.ZodRawShape>(o: z.ZodObject<T>) => o.partial();

/** A policy file as written: everything optional except the name, so `extends` can fill the rest. */
export const PolicyFileSchema = strict({
  name: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9_-]*$/,
      "expected lowercase letters, digits, - and _ (the file's name without .yaml)",
    )
    .describe("the policy's name; must equal the file's name without .yaml"),
  description: z.string().optional(),
  extends: z
    .string()
    .optional()
    .describe("name of the policy this one refines (its values are the defaults here)"),
  tools: strict({
    allow: z
      .array(z.string())
      .optional()
      .describe("tool names or glob patterns: * within a dotted segment, ** across"),
    deny: z
      .array(z.string())
      .optional()
      .describe("names or globs removed from `allow` and from `registered`"),
    registered: z
      .array(z.enum(TOOL_SOURCES))
      .optional()
      .describe(
        "the tenant's own tools, allowed besides `allow`: `http` (HTTP tools it registered with POST /v1/tools), `mcp` (the tools of its MCP servers); [] allows only what `allow` names",
      ),
  })
    .optional()
    .describe("which tools the policy binds (code-mode scripts, the loop, GET /v1/tools)"),
  codemode: strict({
    enabled: z.boolean().optional(),
    engines: z
      .array(z.enum(CODEMODE_ENGINES))
      .optional()
      .describe("engines a request may name: quickjs and v8 run JavaScript/TypeScript, monty runs Python"),
    languages: z
      .array(z.enum(CODEMODE_LANGUAGES))
      .optional()
      .describe("languages a script may be written in (python needs the monty engine)"),
    defaults: partial(codemodeLimits).optional().describe("limits used when a request omits them"),
    max: partial(codemodeLimits).optional().describe("ceilings: a request above them is a policy_violation"),
  }).optional(),
  container: strict({
    enabled: z.boolean().optional().describe("false: every container execution fails with policy_violation"),
    images: z.array(z.string()).optional().describe("images a request may name"),
    network: z
      .record(z.string(), containerNetwork)
      .optional()
      .describe(
        "network mode per image: `none` (the default), or `{ mode: allowlist, hosts: [...] }` (only Mend's egress proxy, which admits only those hosts)",
      ),
    modules: z
      .record(z.string(), z.array(z.string()))
      .optional()
      .describe(
        "modules each image provides (Python or npm packages): a missing_dependency failure's remedy names the allowed images that have the module",
      ),
    runtime: z
      .union([z.enum(CONTAINER_RUNTIMES), z.record(z.string(), z.enum(CONTAINER_RUNTIMES))])
      .optional()
      .describe(
        "OCI runtime: `runc` (the default) or `runsc` (gVisor, a user-space kernel between the code and the host), for every image or per image, e.g. { python: runsc }",
      ),
    defaults: partial(containerLimits).optional().describe("limits used when a request omits them"),
    max: partial(containerLimits).optional().describe("ceilings: a request above them is a policy_violation"),
  }).optional(),
  cache: z
    .record(z.string(), z.union([z.literal("off"), strict({ ttlSeconds: z.number().int().positive() })]))
    .optional()
    .describe("per tool: `off`, or how long a deterministic tool's result is reused"),
  remediation: z
    .partialRecord(z.enum(FAILURE_KINDS), remediationRule, failureKindKeys("remediation"))
    .optional()
    .describe("per failure kind: what is retried automatically before the model sees the failure"),
  budgets: partial(budgets)
    .optional()
    .describe("the hosted loop's budgets and what happens when one is spent"),
  http: strict({ allowHosts: z.array(z.string()).optional() }).optional(),
  network: strict({
    allow: z
      .array(
        z.string().superRefine((text, ctx) => {
          const r = parseDestinationRule(text);
          if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
        }),
      )
      .optional()
      .describe(
        'destinations opened for HTTP tools, MCP servers and http.fetch although their address is loopback, private, link-local or otherwise non-public: "127.0.0.1:9000", "10.1.0.0/16", "api.internal", "*.corp.example:443"',
      ),
  })
    .optional()
    .describe("the destination policy of connections made on the tenant's behalf (SSRF guard)"),
  limits: tenantLimits
    .optional()
    .describe(
      "per-tenant request rate and execution concurrency (429 beyond them), the attempt cap of a step, and quotas: stored journal, blob and cache bytes, tool-call argument and result bytes, open event streams",
    ),
}).describe("A Mend policy: what a tenant's executions may use. See policies/default.yaml.");
export type PolicyFile = z.infer<typeof PolicyFileSchema>;

/** A policy after `extends` is resolved: every limit known. */
export interface Policy {
  name: string;
  version: string;
  description?: string;
  tools: { allow: string[]; deny: string[]; registered: ToolSourceKind[] };
  codemode: {
    enabled: boolean;
    engines: CodeModeEngineName[];
    languages: CodeModeLanguageName[];
    defaults: z.infer<typeof codemodeLimits>;
    max: z.infer<typeof codemodeLimits>;
  };
  container: {
    enabled: boolean;
    images: string[];
    network: Record<string, ContainerNetwork>;
    modules: Record<string, string[]>;
    /** One runtime for every image, or per image (an image not named runs on runc). */
    runtime: ContainerRuntime | Record<string, ContainerRuntime>;
    defaults: z.infer<typeof containerLimits>;
    max: z.infer<typeof containerLimits>;
  };
  cache: Record<string, "off" | { ttlSeconds: number }>;
  remediation: Partial<Record<(typeof FAILURE_KINDS)[number], z.infer<typeof remediationRule>>>;
  budgets: z.infer<typeof budgets>;
  http: { allowHosts: string[] };
  /** Destination rules (`network.allow`) opening non-public addresses to the tenant's outbound connections. */
  network: { allow: string[] };
  /** Per-tenant limits; an absent value means no limit. */
  limits: z.infer<typeof tenantLimits>;
}

export type CodeModeLimitValues = Policy["codemode"]["defaults"];
export type ContainerLimitValues = Policy["container"]["defaults"];
export type RemediationRule = z.infer<typeof remediationRule>;
export type TenantLimits = Policy["limits"];
