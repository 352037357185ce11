// POST /v1/executions (and the `action` of a client-driven step): request and response schemas.
import { Type, type Static } from "@sinclair/typebox";
import { CodeModeEngineSchema, CodeModeLanguageSchema } from "./engines.ts";
import { FailureSchema } from "./failure.ts";

/** Cap on submitted code (256 KiB). */
export const MAX_CODE_CHARS = 256 * 1024;

const ToolName = Type.String({ pattern: "^[A-Za-z_][\\w-]*(\\.[A-Za-z_][\\w-]*)*$", maxLength: 128 });

export const CodeModeLimitsSchema = Type.Object(
  {
    memoryMb: Type.Optional(Type.Number({ minimum: 1 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    stackKb: Type.Optional(Type.Integer({ minimum: 16 })),
    maxToolCalls: Type.Optional(Type.Integer({ minimum: 0 })),
    maxLogBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    maxResultBytes: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

export const CodeModeActionSchema = Type.Object(
  {
    sandbox: Type.Literal("codemode"),
    code: Type.String({
      minLength: 1,
      maxLength: MAX_CODE_CHARS,
      description:
        "Script body. JavaScript/TypeScript runs as an async function (top-level await, return); Python's result is the value of its last expression.",
    }),
    language: Type.Optional(CodeModeLanguageSchema),
    engine: Type.Optional(CodeModeEngineSchema),
    tools: Type.Optional(Type.Array(ToolName, { maxItems: 256 })),
    limits: Type.Optional(CodeModeLimitsSchema),
    seed: Type.Optional(Type.Integer()),
    cache: Type.Optional(Type.Union([Type.Literal("use"), Type.Literal("bypass")])),
  },
  { $id: "CodeModeAction", additionalProperties: false },
);
export type CodeModeAction = Static<typeof CodeModeActionSchema>;

export const ContainerLimitsSchema = Type.Object(
  {
    memoryMb: Type.Optional(Type.Number({ minimum: 6 })),
    cpus: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    diskMb: Type.Optional(Type.Number({ minimum: 1 })),
    pids: Type.Optional(Type.Integer({ minimum: 4 })),
    outputBytes: Type.Optional(Type.Integer({ minimum: 1024 })),
    network: Type.Optional(
      Type.Union([Type.Literal("none"), Type.Literal("allowlist")], {
        description:
          "none: no network; allowlist: only the hosts the policy lists for the image, through Mend's egress proxy (HTTP_PROXY/HTTPS_PROXY are set). Default: the policy's mode.",
      }),
    ),
  },
  { additionalProperties: false },
);

const FilePath = Type.String({ minLength: 1, maxLength: 512, description: "Relative to /workspace" });

/** An input file given by value. */
export const ContentFileSchema = Type.Object(
  {
    path: FilePath,
    content: Type.String(),
    encoding: Type.Optional(Type.Union([Type.Literal("utf8"), Type.Literal("base64")])),
  },
  { additionalProperties: false },
);

/** An input file given by reference: a blob of the caller's tenant (e.g. an earlier step's output file). */
export const BlobFileSchema = Type.Object(
  {
    path: FilePath,
    blob: Type.String({
      pattern: "^[0-9a-f]{64}$",
      description: "The sha256 of a blob of the caller's tenant, e.g. the `sha256` of an earlier output file",
    }),
  },
  { additionalProperties: false },
);

export const InputFileSchema = Type.Union([ContentFileSchema, BlobFileSchema], {
  description: "A file placed under /workspace: by value (`content`) or by reference (`blob`)",
});
export type InputFile = Static<typeof InputFileSchema>;

export const ContainerActionSchema = Type.Object(
  {
    sandbox: Type.Literal("container"),
    image: Type.String({ minLength: 1, maxLength: 64 }),
    code: Type.String({ minLength: 1, maxLength: MAX_CODE_CHARS }),
    files: Type.Optional(Type.Array(InputFileSchema, { maxItems: 256 })),
    stdin: Type.Optional(Type.String()),
    argv: Type.Optional(Type.Array(Type.String(), { maxItems: 64 })),
    limits: Type.Optional(ContainerLimitsSchema),
  },
  { $id: "ContainerAction", additionalProperties: false },
);
export type ContainerAction = Static<typeof ContainerActionSchema>;

export const ToolActionSchema = Type.Object(
  {
    type: Type.Literal("tool"),
    tool: ToolName,
    args: Type.Optional(Type.Unknown()),
    cache: Type.Optional(Type.Union([Type.Literal("use"), Type.Literal("bypass")])),
  },
  { additionalProperties: false },
);

export const ExecutionRequestSchema = Type.Union([CodeModeActionSchema, ContainerActionSchema], {
  $id: "ExecutionRequest",
});
export type ExecutionRequest = Static<typeof ExecutionRequestSchema>;

export const OutputFileSchema = Type.Object({
  path: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
  url: Type.String(),
});

/** One connection attempt of a container through the egress proxy. */
export const EgressRecordSchema = Type.Object(
  {
    host: Type.String(),
    port: Type.Integer(),
    allowed: Type.Boolean(),
    bytesIn: Type.Integer({ description: "bytes received from the destination" }),
    bytesOut: Type.Integer({ description: "bytes sent to the destination" }),
    reason: Type.Optional(Type.String({ description: "why it was refused, or why the connection failed" })),
  },
  { $id: "EgressRecord", additionalProperties: false },
);
export type EgressRecord = Static<typeof EgressRecordSchema>;

export const ToolCallSummarySchema = Type.Object({
  seq: Type.Integer(),
  tool: Type.String(),
  status: Type.Union([Type.Literal("succeeded"), Type.Literal("failed")]),
  cached: Type.Boolean(),
  replayed: Type.Boolean(),
  ms: Type.Number(),
});

export const ExecutionResponseSchema = Type.Object(
  {
    id: Type.String(),
    runId: Type.String(),
    stepSeq: Type.Optional(Type.Integer()),
    key: Type.Optional(Type.String()),
    status: Type.Union([Type.Literal("succeeded"), Type.Literal("failed")]),
    result: Type.Optional(Type.Unknown()),
    stdout: Type.Optional(Type.String()),
    stderr: Type.Optional(Type.String()),
    exitCode: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    logs: Type.Optional(Type.Array(Type.String())),
    files: Type.Optional(Type.Array(OutputFileSchema)),
    toolCalls: Type.Optional(Type.Array(ToolCallSummarySchema)),
    unmatchedReplays: Type.Optional(
      Type.Array(Type.Object({ tool: Type.String(), argsJson: Type.String() })),
    ),
    resumedFromSnapshot: Type.Optional(
      Type.Object(
        { seq: Type.Integer() },
        {
          description:
            "Code-mode (Python): this attempt continued from the interpreter snapshot taken at tool call `seq` by an interrupted attempt, instead of re-running the script; the calls before it were neither made nor replayed.",
        },
      ),
    ),
    failure: Type.Optional(FailureSchema),
    usage: Type.Object({
      wallMs: Type.Number(),
      memoryPeakMb: Type.Optional(Type.Number()),
      cpuMs: Type.Optional(Type.Number()),
      egress: Type.Optional(
        Type.Array(EgressRecordSchema, {
          maxItems: 100,
          description: "allowlist network: every connection attempt through the egress proxy, in order",
        }),
      ),
      egressOmitted: Type.Optional(
        Type.Integer({ description: "attempts past the journal's bound of 100, counted but not listed" }),
      ),
      runtime: Type.Optional(
        Type.Union([Type.Literal("runc"), Type.Literal("runsc")], {
          description:
            "Containers: the OCI runtime the code ran on (runsc is gVisor). Memory and CPU are the container's cgroup as the host sees it.",
        }),
      ),
      engine: Type.Optional(
        Type.String({
          description: "container executions: the Docker engine that ran it (MEND_DOCKER_HOSTS name)",
        }),
      ),
      adopted: Type.Optional(
        Type.Boolean({
          description:
            "container executions: the engine stopped answering during the run and the finished container's result was read back when it answered again (not run twice)",
        }),
      ),
    }),
    attempts: Type.Integer(),
    replayed: Type.Boolean(),
    cached: Type.Optional(Type.Boolean()),
  },
  { $id: "ExecutionResponse", additionalProperties: true },
);
export type ExecutionResponse = Static<typeof ExecutionResponseSchema>;
