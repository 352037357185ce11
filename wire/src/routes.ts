// The route table of the HTTP API: one entry per route, from which the OpenAPI 3.1 document is generated.
import { Type, type TSchema } from "@sinclair/typebox";
import { CacheClearedSchema, CacheStatsSchema, CheckpointPutSchema } from "./cache.ts";
import { RelayAnswerSchema, RelayEventSchema, RelayStartSchema } from "./relay.ts";
import { HealthSchema } from "./health.ts";
import { UsageSchema } from "./usage.ts";
import { ProblemSchema } from "./problem.ts";
import {
  CheckpointBodySchema,
  CheckpointSchema,
  CompleteBodySchema,
  CreateRunSchema,
  ForkRunSchema,
  InputBodySchema,
  ExportRunsQuerySchema,
  ListRunsQuerySchema,
  RunEventSchema,
  RunSchema,
  RunsPageSchema,
  StepRequestSchema,
  StepSchema,
} from "./run.ts";
import { McpServerInfoSchema, RegisterMcpServerSchema, RegisterToolSchema, ToolInfoSchema } from "./tools.ts";
import { ExecutionRequestSchema, ExecutionResponseSchema } from "./execution.ts";

// --- Examples (validated against their schemas by the OpenAPI test) ---

const T0 = "2025-01-01T00:00:00.000Z";
const EX = {
  health: {
    ok: true,
    version: "0.1.0",
    store: { kind: "sqlite" },
    docker: { available: true, version: "20.10.24" },
    images: ["python"],
  },
  codemodeRequest: {
    sandbox: "codemode",
    code: "const r = await tools.echo({ text: 'hi' }); return r.text;",
    tools: ["echo"],
    limits: { memoryMb: 32, timeoutMs: 2000 },
  },
  execution: {
    id: "ex_run_01J9_1",
    runId: "run_01J9",
    stepSeq: 1,
    key: "execution",
    status: "succeeded",
    result: "hi",
    logs: [],
    toolCalls: [{ seq: 1, tool: "echo", status: "succeeded", cached: false, replayed: false, ms: 0.4 }],
    usage: { wallMs: 12.3, memoryPeakMb: 9.1 },
    attempts: 1,
    replayed: false,
  },
  createRun: { mode: "client", goal: "Summarise the open incidents", metadata: { ticket: "OPS-12" } },
  run: {
    id: "run_01J9",
    mode: "client",
    origin: "client",
    status: "running",
    goal: "Summarise the open incidents",
    policy: "default",
    metadata: { ticket: "OPS-12" },
    createdAt: T0,
    updatedAt: T0,
    iterations: 0,
  },
  finishedRun: {
    id: "run_01J9",
    mode: "client",
    origin: "client",
    status: "succeeded",
    goal: null,
    policy: "default",
    metadata: null,
    createdAt: T0,
    updatedAt: T0,
    iterations: 0,
    output: { answer: 42 },
  },
  step: {
    seq: 1,
    key: "fetch-page-3",
    kind: "container",
    status: "failed",
    attempt: 1,
    input: { type: "container", image: "python", code: "print(6*7)" },
    output: { stdout: "", exitCode: 137 },
    failure: {
      kind: "out_of_memory",
      layer: "infrastructure",
      message: "The container was killed after reaching its 128 MiB memory limit.",
      retryable: true,
      limits: { memoryMb: 128 },
      remedy: { action: "increase_memory", memoryMb: 256, withinPolicy: true },
    },
    cached: false,
    replayed: false,
    startedAt: T0,
    endedAt: T0,
    usage: { wallMs: 2310 },
  },
  fork: { atSeq: 4, model: { name: "gpt-4.1" }, goal: "Summarise the open incidents, worst first" },
  forkedRun: {
    id: "run_01JA",
    mode: "hosted",
    origin: "hosted",
    status: "running",
    goal: "Summarise the open incidents, worst first",
    policy: "default",
    metadata: null,
    createdAt: T0,
    updatedAt: T0,
    iterations: 0,
    parentRunId: "run_01J9",
    forkedAtSeq: 4,
  },
  stepRequest: { key: "fetch-page-3", action: { type: "container", image: "python", code: "print(6*7)" } },
  tool: {
    name: "echo",
    description: "Returns its arguments",
    inputSchema: { type: "object" },
    version: "1",
    cache: { ttlSeconds: 3600 },
    idempotent: true,
    source: "builtin",
    allowed: true,
  },
  registerTool: {
    name: "weather",
    description: "Current weather for a city",
    inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    endpoint: "https://tools.example.com/weather",
    headers: { authorization: "Bearer secret-stays-server-side" },
    cache: { ttlSeconds: 600 },
    idempotent: true,
  },
  registeredTool: {
    name: "weather",
    description: "Current weather for a city",
    inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    version: "1",
    cache: { ttlSeconds: 600 },
    idempotent: true,
    source: "http",
    allowed: true,
    endpoint: "https://tools.example.com/weather",
    method: "POST",
    headerNames: ["authorization"],
    createdAt: T0,
    updatedAt: T0,
  },
  mcpServer: {
    name: "github",
    transport: "http",
    url: "https://mcp.example.com/github",
    headerNames: ["authorization"],
    origin: "api",
  },
  relayStart: {
    code: "const r = await tools.search({ q: 'mend' }); return r.hits.length;",
    tools: [{ name: "search", description: "Searches the client's index", inputSchema: { type: "object" } }],
  },
  relayToolCall: { type: "tool_call", seq: 1, tool: "search", args: { q: "mend" } },
};

export type HttpMethod = "get" | "post" | "put" | "delete";

/** One response of a route: a JSON schema, or a non-JSON media type described in words. */
export interface RouteResponse {
  description: string;
  schema?: TSchema;
  /** Defaults to application/json (application/problem+json for 4xx/5xx). */
  contentType?: string;
  example?: unknown;
}

/** One route of the API, as the OpenAPI document describes it. Paths use `{param}` syntax. */
export interface RouteSpec {
  method: HttpMethod;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  params?: Record<string, TSchema>;
  query?: Record<string, TSchema>;
  /** Request headers the route reads (besides Authorization), e.g. Idempotency-Key. */
  headers?: Record<string, { description: string; schema: TSchema }>;
  body?: { schema: TSchema; example?: unknown; contentType?: string };
  responses: Record<number, RouteResponse>;
  /** Routes outside the API key check (liveness). */
  public?: boolean;
}

const RunId = { id: Type.String({ pattern: "^run_", description: "A run id" }) };
const StepKey = Type.String({ minLength: 1, maxLength: 256, description: "A step or checkpoint key" });
const Idem = {
  "Idempotency-Key": {
    description:
      "Makes the request idempotent: the same key returns the first result instead of acting twice. 1 to 256 visible characters; an empty key is a 400.",
    schema: Type.String({ minLength: 1, maxLength: 256 }),
  },
};
const problem = (description: string): RouteResponse => ({ description, schema: ProblemSchema });
const invalid = problem(
  "The request does not match the schema, or its body nests arrays/objects deeper than 128 levels (problem+json with the offending paths)",
);
const destinationRefused = problem(
  "`network_denied`: the endpoint resolves to an address the caller's policy refuses (loopback, private, link-local, unique-local, CGNAT, unspecified, multicast, reserved) and no network.allow rule opens; `failure`, `host`, `address`, `range` and `rule` say which",
);
const missing = problem("No such run (or it belongs to another tenant)");
const json = (description: string, schema: TSchema, example?: unknown): RouteResponse => ({
  description,
  schema,
  example,
});

/** A page of the run inspector (HTML for people; listed so the document covers every route). */
const ui = (path: string, operationId: string, summary: string, contentType = "text/html"): RouteSpec => ({
  method: "get",
  path,
  operationId,
  summary,
  tag: "Inspector",
  ...(path.includes("{id}") ? { params: { id: Type.String() } } : {}),
  ...(path.includes("{seq}") ? { params: { id: Type.String(), seq: Type.Integer({ minimum: 1 }) } } : {}),
  responses: { 200: { description: summary, contentType } },
});

/**
 * The responses any route can give besides its own: the API key check, the browser guard and the request
 * rate (service/src/edge/authenticate.ts), the body limit and JSON-only bodies (edge/read-body.ts), and a
 * shutdown in progress.
 */
function withCommonResponses(r: RouteSpec): RouteSpec {
  const common: Record<number, RouteResponse> = {};
  if (!r.public) {
    if (r.method === "get" && (r.path === "/ui" || r.path.startsWith("/ui/"))) {
      common[302] = {
        description: "Not signed in (API keys exist): redirect to /ui/login",
        contentType: "text/html",
      };
    } else {
      common[401] = problem(
        "API keys exist and the request has none, or a malformed, unknown or revoked one (WWW-Authenticate: Bearer)",
      );
    }
    common[403] = problem(
      "No API keys exist and the request comes from a web page (foreign Origin or Host): only local callers are served",
    );
    common[429] = problem(
      "Over the tenant's request rate, or (executions) its concurrent executions; Retry-After says when to retry",
    );
  }
  if (r.body) {
    common[413] = problem("The body is larger than MEND_BODY_LIMIT_BYTES");
    if ((r.body.contentType ?? "application/json") === "application/json")
      common[415] = problem("The body is not application/json");
  }
  if (!r.public && r.method !== "get" && r.method !== "delete")
    common[507] = problem(
      "The write would pass the tenant's journal or blob quota (policy limits): nothing was stored; `failure` holds the quota_exceeded failure",
    );
  common[503] ??= problem(
    "The service is shutting down (Retry-After, Connection: close), or the caller's policy is not loaded",
  );
  return { ...r, responses: { ...common, ...r.responses } };
}

/** Every route the service registers. The OpenAPI test fails when the app and this table disagree. */
const OWN_ROUTES: RouteSpec[] = [
  {
    method: "get",
    path: "/healthz",
    operationId: "health",
    summary: "Liveness and what the service can reach",
    tag: "Health",
    public: true,
    responses: {
      200: json("The service and its store are usable", HealthSchema, EX.health),
      503: { description: "The store is unusable", schema: HealthSchema, contentType: "application/json" },
    },
  },
  {
    method: "get",
    path: "/metrics",
    operationId: "metrics",
    summary: "Prometheus metrics (text exposition format)",
    description:
      "For the operator's scraper: `Authorization: Bearer <MEND_METRICS_TOKEN>` when that variable is set, else " +
      "loopback callers only. Tenants' API keys do not open it. The families are listed in docs/operations.md.",
    tag: "Health",
    public: true,
    responses: {
      200: { description: "mend_* and mend_process_* metrics", contentType: "text/plain; version=0.0.4" },
      401: problem("MEND_METRICS_TOKEN is set and the request carries no bearer token"),
      403: problem("Another token, or (no MEND_METRICS_TOKEN) a caller beyond loopback"),
    },
  },
  {
    method: "post",
    path: "/v1/executions",
    operationId: "execute",
    summary: "Run code once (code-mode or container), journaled under an implicit run",
    description: 'A failed execution is a 200 with status "failed" and a structured failure (FAILURES.md).',
    tag: "Executions",
    body: { schema: ExecutionRequestSchema, example: EX.codemodeRequest },
    responses: {
      200: json("The execution, succeeded or failed", ExecutionResponseSchema, EX.execution),
      400: invalid,
    },
  },
  {
    method: "post",
    path: "/v1/runs",
    operationId: "createRun",
    summary: "Create a run (hosted: driven by the service's loop; client: driven by the caller)",
    tag: "Runs",
    headers: Idem,
    body: { schema: CreateRunSchema, example: EX.createRun },
    responses: {
      201: json("Created", RunSchema, EX.run),
      200: json("An earlier request with the same Idempotency-Key created this run", RunSchema, EX.run),
      400: invalid,
      422: problem("Hosted runs need an LLM provider configured"),
    },
  },
  {
    method: "get",
    path: "/v1/runs",
    operationId: "listRuns",
    summary: "A page of runs, newest first",
    tag: "Runs",
    query: ListRunsQuerySchema.properties,
    responses: { 200: json("A page", RunsPageSchema, { items: [EX.run], nextCursor: null }), 400: invalid },
  },
  {
    method: "get",
    path: "/v1/runs/export",
    operationId: "exportRuns",
    summary: "Trajectories (messages, actions, failures, recoveries) as JSON Lines",
    tag: "Runs",
    query: ExportRunsQuerySchema.properties,
    responses: {
      200: { description: "One JSON object per run and line", contentType: "application/x-ndjson" },
    },
  },
  {
    method: "get",
    path: "/v1/runs/{id}",
    operationId: "getRun",
    summary: "A run",
    tag: "Runs",
    params: RunId,
    responses: { 200: json("The run", RunSchema, EX.run), 404: missing },
  },
  {
    method: "get",
    path: "/v1/runs/{id}/steps",
    operationId: "listSteps",
    summary: "The run's journal",
    tag: "Runs",
    params: RunId,
    responses: { 200: json("Steps in order", Type.Array(StepSchema), [EX.step]), 404: missing },
  },
  {
    method: "post",
    path: "/v1/runs/{id}/steps",
    operationId: "runStep",
    summary: "Execute a client-driven step once per key (the same key again replays the journaled result)",
    tag: "Runs",
    params: RunId,
    body: { schema: StepRequestSchema, example: EX.stepRequest },
    responses: {
      200: json(
        "The execution (replayed: true when answered from the journal)",
        ExecutionResponseSchema,
        EX.execution,
      ),
      400: invalid,
      404: missing,
      409: problem("The run is finished"),
    },
  },
  {
    method: "put",
    path: "/v1/runs/{id}/checkpoints/{key}",
    operationId: "putCheckpoint",
    summary:
      "Record a durable value computed by the caller (run.step in the client), journaled as a step of kind checkpoint (key checkpoint:<key>); the first value wins",
    tag: "Runs",
    params: { ...RunId, key: StepKey },
    body: { schema: CheckpointBodySchema, example: { value: { hits: 3 } } },
    responses: {
      200: json("The recorded value (the first one written for this key)", CheckpointPutSchema, {
        key: "search",
        value: { hits: 3 },
      }),
      400: invalid,
      404: missing,
      409: problem("The run is finished"),
      413: problem("The value is over 1 MiB"),
    },
  },
  {
    method: "get",
    path: "/v1/runs/{id}/checkpoints/{key}",
    operationId: "getCheckpoint",
    summary: "A recorded checkpoint",
    tag: "Runs",
    params: { ...RunId, key: StepKey },
    responses: {
      200: json("The value", CheckpointSchema, {
        key: "search",
        value: { hits: 3 },
        createdAt: "2025-01-01T00:00:00.000Z",
      }),
      404: problem("No such run or checkpoint"),
    },
  },
  {
    method: "post",
    path: "/v1/runs/{id}/input",
    operationId: "answerRun",
    summary: "Answer a run waiting for input",
    tag: "Runs",
    params: RunId,
    body: { schema: InputBodySchema, example: { input: "Use the staging database." } },
    responses: {
      200: json("The run, resumed", RunSchema, EX.run),
      404: missing,
      409: problem("The run is not waiting for input"),
    },
  },
  {
    method: "post",
    path: "/v1/runs/{id}/complete",
    operationId: "completeRun",
    summary: "Mark a client-driven run succeeded with its output",
    tag: "Runs",
    params: RunId,
    body: { schema: CompleteBodySchema, example: { output: { answer: 42 } } },
    responses: {
      200: json("The finished run", RunSchema, EX.finishedRun),
      404: missing,
      409: problem("Hosted or already finished"),
    },
  },
  {
    method: "post",
    path: "/v1/runs/{id}/resume",
    operationId: "resumeRun",
    summary: "Resume a failed or waiting run from where it stopped",
    description:
      "A failed run takes steps again; a run waiting for input goes on without an answer (null); a hosted run backing " +
      "off from a model outage (status running with retryAt) calls its model now. The resume is journaled as a step " +
      "`resume-<n>`, after which an earlier outage or spent budget counts no more. A hosted run's journal replays.",
    tag: "Runs",
    params: RunId,
    responses: {
      200: json("The run, running again", RunSchema, EX.run),
      404: missing,
      409: problem("The run succeeded or was cancelled"),
    },
  },
  {
    method: "post",
    path: "/v1/runs/{id}/fork",
    operationId: "forkRun",
    summary: "Fork a run at a step: a new run that replays the steps before it and continues live",
    description:
      "The parent's succeeded and failed steps before `atSeq` are copied into the new run in one transaction, as " +
      "replayed entries (`replayed: true`, `replayedFrom`): nothing runs again, no side effect repeats, blobs and the " +
      "cache are shared. A hosted fork re-enters the loop with the new goal, model, tools (an edited step, `replace`, " +
      "runs its new action); a client-driven fork takes new steps. The fork is the caller's: its tenant, its policy. " +
      "Another tenant's run is 404. `GET /v1/runs?parentRunId=` lists a run's forks.",
    tag: "Runs",
    params: RunId,
    headers: Idem,
    body: { schema: ForkRunSchema, example: EX.fork },
    responses: {
      201: json("The fork", RunSchema, EX.forkedRun),
      200: json("An earlier request with the same Idempotency-Key made this fork", RunSchema, EX.forkedRun),
      400: invalid,
      404: missing,
      422: problem("A hosted fork needs an LLM provider configured"),
    },
  },
  {
    method: "post",
    path: "/v1/runs/{id}/cancel",
    operationId: "cancelRun",
    summary: "Cancel a run (a finished run is returned unchanged)",
    tag: "Runs",
    params: RunId,
    responses: { 200: json("The run", RunSchema, EX.run), 404: missing },
  },
  {
    method: "get",
    path: "/v1/runs/{id}/events",
    operationId: "runEvents",
    summary: "Server-Sent Events of the run, resumable with Last-Event-ID",
    description:
      "Events (the SSE `event:` field): step.started, step.output, step.completed, step.failed, remediation, run.waiting_for_input, " +
      "run.retrying, run.completed; `data:` is JSON and `id:` the event id. The schema describes one event. Comments " +
      "(`: keep-alive`) are sent every 15 s while idle. The stream ends when the run finishes.",
    tag: "Runs",
    params: RunId,
    query: {
      lastEventId: Type.Integer({
        minimum: 0,
        description: "Resume after this event id (as Last-Event-ID)",
      }),
    },
    headers: {
      "Last-Event-ID": {
        description: "Resume after this event id",
        schema: Type.String({ pattern: "^[0-9]+$" }),
      },
    },
    responses: {
      200: {
        description: "An event stream; each event is one of RunEvent",
        contentType: "text/event-stream",
        schema: RunEventSchema,
        example: {
          id: 7,
          event: "step.completed",
          data: { seq: 2, key: "fetch", kind: "tool", attempt: 1, status: "succeeded" },
        },
      },
      400: problem("Last-Event-ID is not an event id"),
      404: missing,
    },
  },
  {
    method: "get",
    path: "/v1/blobs/{sha256}",
    operationId: "getBlob",
    summary: "A persisted artifact of one of the tenant's runs",
    tag: "Blobs",
    params: { sha256: Type.String({ pattern: "^[0-9a-f]{64}$" }) },
    responses: {
      200: { description: "The bytes", contentType: "application/octet-stream" },
      404: problem("No such blob"),
    },
  },
  {
    method: "get",
    path: "/v1/cache/stats",
    operationId: "cacheStats",
    summary: "The tenant's global cache: entries, bytes, hits, misses",
    tag: "Cache",
    responses: {
      200: json("Statistics", CacheStatsSchema, { entries: 3, bytes: 512, hits: 10, misses: 4 }),
    },
  },
  {
    method: "get",
    path: "/v1/usage",
    operationId: "usage",
    summary: "What the tenant stores and holds open, beside its policy's quotas",
    tag: "Cache",
    description:
      "Journal, blob and cache bytes as the store counts them (in the same transaction as each write), open event streams, and the quotas of the caller's policy (`limits`). A write past `journalBytes` or `blobBytes` is refused with 507 `quota_exceeded`.",
    responses: {
      200: json("The tenant's usage", UsageSchema, {
        tenant: "acme",
        usage: { journalBytes: 120_450, blobBytes: 4096, cacheBytes: 512, sseStreams: 1 },
        limits: {
          journalBytes: 1_073_741_824,
          blobBytes: 2_147_483_648,
          cacheBytes: 67_108_864,
          toolArgsBytes: 4_194_304,
          toolResultBytes: 16_777_216,
          sseStreams: 32,
        },
      }),
    },
  },
  {
    method: "delete",
    path: "/v1/cache",
    operationId: "clearCache",
    summary: "Clear the tenant's cache (one tool with ?tool=)",
    tag: "Cache",
    query: { tool: Type.String() },
    responses: { 200: json("How many entries were removed", CacheClearedSchema, { removed: 3 }) },
  },
  {
    method: "get",
    path: "/v1/tools",
    operationId: "listTools",
    summary: "Tools visible to the caller's policy",
    tag: "Tools",
    responses: { 200: json("Tools", Type.Array(ToolInfoSchema), [EX.tool]) },
  },
  {
    method: "post",
    path: "/v1/tools",
    operationId: "registerTool",
    summary: "Register an HTTP tool (credentials in headers stay server-side)",
    tag: "Tools",
    body: { schema: RegisterToolSchema, example: EX.registerTool },
    responses: {
      201: json("Registered", ToolInfoSchema, EX.registeredTool),
      200: json("Updated", ToolInfoSchema),
      400: invalid,
      422: destinationRefused,
    },
  },
  {
    method: "get",
    path: "/v1/tools/{name}",
    operationId: "getTool",
    summary: "One tool visible to the caller",
    tag: "Tools",
    params: { name: Type.String() },
    responses: { 200: json("The tool", ToolInfoSchema, EX.tool), 404: problem("No such tool") },
  },
  {
    method: "delete",
    path: "/v1/tools/{name}",
    operationId: "deleteTool",
    summary: "Remove a registered tool",
    tag: "Tools",
    params: { name: Type.String() },
    responses: { 204: { description: "Removed" }, 404: problem("No such tool") },
  },
  {
    method: "get",
    path: "/v1/tools/mcp-servers",
    operationId: "listMcpServers",
    summary: "MCP servers whose tools the tenant uses (as <server>.<tool>)",
    tag: "Tools",
    responses: { 200: json("Servers", Type.Array(McpServerInfoSchema), [EX.mcpServer]) },
  },
  {
    method: "post",
    path: "/v1/tools/mcp-servers",
    operationId: "registerMcpServer",
    summary: "Register an MCP server (Streamable HTTP url, or a stdio command)",
    tag: "Tools",
    body: {
      schema: RegisterMcpServerSchema,
      example: {
        name: "github",
        url: "https://mcp.example.com/github",
        headers: { authorization: "Bearer secret" },
      },
    },
    responses: {
      201: json("Registered", McpServerInfoSchema, EX.mcpServer),
      200: json("Updated", McpServerInfoSchema),
      400: invalid,
      422: problem(
        "`network_denied`: the URL's destination is refused by the destination policy (see registerTool), or `not-configured`: stdio servers are disabled (MEND_MCP_ALLOW_STDIO)",
      ),
    },
  },
  {
    method: "get",
    path: "/v1/tools/mcp-servers/{name}",
    operationId: "getMcpServer",
    summary: "One MCP server",
    tag: "Tools",
    params: { name: Type.String() },
    responses: {
      200: json("The server", McpServerInfoSchema, EX.mcpServer),
      404: problem("No such server"),
    },
  },
  {
    method: "delete",
    path: "/v1/tools/mcp-servers/{name}",
    operationId: "deleteMcpServer",
    summary: "Remove an MCP server",
    tag: "Tools",
    params: { name: Type.String() },
    responses: { 204: { description: "Removed" }, 404: problem("No such server") },
  },
  {
    method: "get",
    path: "/v1/tools.d.ts",
    operationId: "toolsDts",
    summary: "TypeScript declarations of the caller's tools, for an LLM writing code-mode scripts",
    tag: "Tools",
    responses: { 200: { description: "declare const tools: { ... }", contentType: "text/plain" } },
  },
  {
    method: "get",
    path: "/v1/tools.pyi",
    operationId: "toolsPyi",
    summary: "Python stubs of the caller's tools, for an LLM writing Python code-mode scripts",
    description:
      "Valid Python: one class per namespace, one method per tool with keyword-only parameters typed from its input " +
      "schema, its description as docstring, and a TypedDict result when the tool declares an output schema.",
    tag: "Tools",
    responses: { 200: { description: "class _Tools: ...; tools: _Tools", contentType: "text/plain" } },
  },
  {
    method: "post",
    path: "/v1/relay/executions",
    operationId: "relayExecution",
    summary: "Run a code-mode script whose tools are hosted by the calling client",
    description:
      "The response is a long-lived NDJSON stream of relay events: `started`, then one `tool_call` per call of a " +
      "client-hosted tool (answer each with POST /v1/relay/executions/{id}/results/{seq}), `ping` heartbeats, and " +
      "finally `result` with the execution response (or `error` with a problem).",
    tag: "Relay",
    headers: Idem,
    body: { schema: RelayStartSchema, example: EX.relayStart },
    responses: {
      200: {
        description: "NDJSON relay events",
        contentType: "application/x-ndjson",
        schema: RelayEventSchema,
        example: EX.relayToolCall,
      },
      400: invalid,
    },
  },
  {
    method: "post",
    path: "/v1/relay/executions/{id}/results/{seq}",
    operationId: "relayAnswer",
    summary: "Answer one relayed tool call",
    tag: "Relay",
    params: { id: Type.String(), seq: Type.Integer({ minimum: 1, description: "The tool call's seq" }) },
    body: { schema: RelayAnswerSchema, example: { ok: true, value: { hits: ["a", "b"] } } },
    responses: {
      204: { description: "Delivered to the waiting script" },
      404: problem("No such relay execution or tool call"),
      409: problem("This call was answered already"),
    },
  },
  {
    method: "get",
    path: "/v1/openapi.json",
    operationId: "openapi",
    summary: "This document",
    tag: "Meta",
    responses: { 200: { description: "OpenAPI 3.1", contentType: "application/json" } },
  },
  {
    method: "get",
    path: "/docs",
    operationId: "docs",
    summary: "The API reference, rendered from this document (self-contained HTML)",
    tag: "Meta",
    responses: { 200: { description: "HTML", contentType: "text/html" } },
  },
  {
    method: "post",
    path: "/mcp",
    operationId: "mcp",
    summary:
      "MCP (Streamable HTTP, stateless): run_code, run_orchestration, list_tools, get_run, answer_run, resume_run",
    description:
      "Every tool has an output schema; inputs are closed objects whose optional fields accept null (OpenAI strict mode " +
      'converts them as they are). A failed execution is a result (status "failed" with the failure), a refused request a ' +
      "tool error (isError) whose text carries the problem.",
    tag: "MCP",
    body: { schema: Type.Unknown(), contentType: "application/json" },
    responses: {
      200: { description: "JSON-RPC response (JSON or an SSE stream)", contentType: "text/event-stream" },
    },
  },
  {
    method: "get",
    path: "/mcp",
    operationId: "mcpStream",
    summary: "MCP server-to-client stream (not offered in stateless mode: 405)",
    tag: "MCP",
    responses: { 405: { description: "Method not allowed", contentType: "application/json" } },
  },
  {
    method: "delete",
    path: "/mcp",
    operationId: "mcpEnd",
    summary: "MCP session end (no sessions in stateless mode: 405)",
    tag: "MCP",
    responses: { 405: { description: "Method not allowed", contentType: "application/json" } },
  },
  ui("/ui", "uiRuns", "The run inspector: runs"),
  ui("/ui/assets/inspector.js", "uiScript", "The inspector's script", "text/javascript"),
  ui("/ui/fragments/runs", "uiRunsFragment", "A page of the runs list (HTML fragment)"),
  ui("/ui/runs/{id}", "uiRun", "One run: timeline of steps, failures and remediations"),
  ui("/ui/runs/{id}/live", "uiRunLive", "The run's timeline, updated live"),
  ui(
    "/ui/runs/{id}/export.jsonl",
    "uiRunExport",
    "The run's trajectory as JSON Lines",
    "application/x-ndjson",
  ),
  ui("/ui/runs/{id}/steps/{seq}", "uiStep", "One step: input, output, failure, tool calls"),
  { ...ui("/ui/login", "uiLogin", "The inspector's sign-in form (when API keys exist)"), public: true },
  {
    method: "post",
    path: "/ui/login",
    operationId: "uiLoginSubmit",
    summary: "Sign in with an API key: sets an HttpOnly, SameSite=Strict cookie and redirects to /ui",
    tag: "Inspector",
    public: true,
    responses: {
      200: { description: "The form again, with the reason the key was refused", contentType: "text/html" },
      302: { description: "Signed in; redirect to /ui", contentType: "text/html" },
    },
  },
];

/** Every route the service registers, with the responses common to all. */
export const ROUTES: readonly RouteSpec[] = OWN_ROUTES.map(withCommonResponses);

/** The API's route table as a lookup: `"post /v1/runs"` → spec. */
export function routeIndex(routes: readonly RouteSpec[] = ROUTES): Map<string, RouteSpec> {
  return new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));
}
