// Runs, their journal (steps) and the requests that drive them.
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { FailureSchema } from "./failure.ts";
import { CodeModeActionSchema, ContainerActionSchema, ToolActionSchema } from "./execution.ts";

export const RunStatusSchema = Type.Union([
  Type.Literal("running"),
  Type.Literal("waiting_for_input"),
  Type.Literal("succeeded"),
  Type.Literal("failed"),
  Type.Literal("cancelled"),
]);
export type RunStatus = Static<typeof RunStatusSchema>;

export const ModelSpecSchema = Type.Object(
  {
    provider: Type.Optional(Type.Union([Type.Literal("openai"), Type.Literal("anthropic")])),
    name: Type.Optional(Type.String()),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
  },
  { additionalProperties: false },
);

export const CreateRunSchema = Type.Object(
  {
    mode: Type.Union([Type.Literal("hosted"), Type.Literal("client")]),
    goal: Type.Optional(Type.String({ maxLength: 100_000 })),
    model: Type.Optional(ModelSpecSchema),
    tools: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 256 })),
    policy: Type.Optional(Type.String({ maxLength: 128 })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { $id: "CreateRun", additionalProperties: false },
);
export type CreateRun = Static<typeof CreateRunSchema>;

export const RunOriginSchema = Type.Union(
  [Type.Literal("one-off"), Type.Literal("mcp"), Type.Literal("client"), Type.Literal("hosted")],
  {
    description:
      "What started the run: a one-off execution (POST /v1/executions, the relay), an MCP tool call, a client-driven run, or a hosted run",
  },
);
export type RunOrigin = Static<typeof RunOriginSchema>;

export const RunSchema = Type.Object(
  {
    id: Type.String(),
    mode: Type.Union([Type.Literal("hosted"), Type.Literal("client")]),
    origin: RunOriginSchema,
    status: RunStatusSchema,
    goal: Type.Union([Type.String(), Type.Null()]),
    policy: Type.Union([Type.String(), Type.Null()]),
    policyVersion: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    metadata: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
    iterations: Type.Integer(),
    output: Type.Optional(Type.Unknown()),
    failure: Type.Optional(FailureSchema),
    waitingFor: Type.Optional(Type.Unknown()),
    retryAt: Type.Optional(
      Type.String({
        format: "date-time",
        description:
          "A hosted run whose model provider is failing: when it calls the model again by itself (status stays running)",
      }),
    ),
    parentRunId: Type.Optional(
      Type.String({ description: "A fork: the run it was forked from (POST /v1/runs/{id}/fork)" }),
    ),
    forkedAtSeq: Type.Optional(
      Type.Integer({
        description: "A fork: the parent's first step it did not copy (steps before it are replayed entries)",
      }),
    ),
    retrying: Type.Optional(
      Type.Object(
        {
          since: Type.String({ format: "date-time", description: "When the outage began for this turn" }),
          attempts: Type.Integer({
            description: "Model calls made for this turn so far (provider retries included)",
          }),
          failure: FailureSchema,
        },
        { description: "What the durable backoff is waiting out" },
      ),
    ),
  },
  { $id: "Run" },
);
export type Run = Static<typeof RunSchema>;

/** GET /v1/runs query: `limit` is 1 to 200 (default 50); `cursor` is the previous page's nextCursor. */
export const ListRunsQuerySchema = Type.Object({
  status: Type.Optional(RunStatusSchema),
  origin: Type.Optional(RunOriginSchema),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: "1 to 200 (default 50)" })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: "nextCursor of the previous page" })),
  parentRunId: Type.Optional(Type.String({ maxLength: 100, description: "Only the forks of this run" })),
});

/** GET /v1/runs/export query. */
export const ExportRunsQuerySchema = Type.Object({
  status: Type.Optional(RunStatusSchema),
  format: Type.Optional(Type.Literal("jsonl")),
  run: Type.Optional(Type.String({ maxLength: 100, description: "Only this run" })),
});

export const RunsPageSchema = Type.Object({
  items: Type.Array(RunSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type RunsPage = Static<typeof RunsPageSchema>;

export const StepKindSchema = Type.Union([
  Type.Literal("llm"),
  Type.Literal("tool"),
  Type.Literal("codemode"),
  Type.Literal("container"),
  Type.Literal("human"),
  Type.Literal("checkpoint"),
]);

export const StepSchema = Type.Object(
  {
    seq: Type.Integer(),
    key: Type.String(),
    kind: StepKindSchema,
    status: Type.Union([
      Type.Literal("started"),
      Type.Literal("succeeded"),
      Type.Literal("failed"),
      Type.Literal("interrupted"),
    ]),
    attempt: Type.Integer(),
    input: Type.Unknown(),
    output: Type.Unknown(),
    failure: Type.Union([FailureSchema, Type.Null()]),
    cached: Type.Boolean(),
    replayed: Type.Boolean({
      description: "Copied from the parent when this run was forked: journaled there, not executed here",
    }),
    replayedFrom: Type.Optional(
      Type.Object(
        { runId: Type.String(), seq: Type.Integer() },
        { description: "A replayed step: the run that executed it and its seq there" },
      ),
    ),
    startedAt: Type.String({ format: "date-time" }),
    endedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    usage: Type.Unknown(),
    remediation: Type.Optional(Type.Unknown()),
    audit: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: "who ran the step (tenant, keyId, policy, policyVersion) and the resolved limits",
      }),
    ),
    toolCalls: Type.Optional(Type.Array(Type.Unknown())),
  },
  { $id: "Step" },
);
export type Step = Static<typeof StepSchema>;

/** A step key: printable, at most 256 characters. */
export const StepKeySchema = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: "^[^\\u0000-\\u001f\\u007f]+$",
});

const ContainerStepAction = Type.Composite([
  Type.Object({ type: Type.Literal("container") }),
  Type.Omit(ContainerActionSchema, ["sandbox"]),
]);
const CodeModeStepAction = Type.Composite([
  Type.Object({ type: Type.Literal("codemode") }),
  Type.Omit(CodeModeActionSchema, ["sandbox"]),
]);

export const StepActionSchema = Type.Union([CodeModeStepAction, ContainerStepAction, ToolActionSchema]);
export type StepAction = Static<typeof StepActionSchema>;

/**
 * POST /v1/runs/{id}/fork: a new run whose journal holds the parent's finished steps before `atSeq`
 * (replayed, not executed again) and continues live from there with the given settings.
 */
export const ForkRunSchema = Type.Object(
  {
    atSeq: Type.Integer({
      minimum: 1,
      description:
        "The fork point: the parent's steps with a lower seq are copied; from here on the fork runs live (1: nothing copied)",
    }),
    goal: Type.Optional(
      Type.String({ maxLength: 100_000, description: "Another goal (default: the parent's)" }),
    ),
    model: Type.Optional(ModelSpecSchema),
    tools: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 256 })),
    policy: Type.Optional(
      Type.String({
        maxLength: 128,
        description: "Must be the caller's policy (the fork runs under it); default: the caller's",
      }),
    ),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    replace: Type.Optional(
      Type.Object(
        {
          seq: Type.Integer({ minimum: 1, description: "The parent's step to edit: must be atSeq" }),
          input: StepActionSchema,
        },
        {
          additionalProperties: false,
          description:
            "An edited step: its new action (as in POST /v1/runs/{id}/steps); a hosted fork runs it instead of the model's call at that step",
        },
      ),
    ),
  },
  { $id: "ForkRun", additionalProperties: false },
);
export type ForkRun = Static<typeof ForkRunSchema>;

/** What a step key reused with a different input does: 409 step_input_mismatch (default), or replay anyway. */
export const InputMismatchSchema = Type.Union([Type.Literal("reject"), Type.Literal("replay")], {
  description:
    "When the key was already used with a different input: `reject` (default) answers 409 step_input_mismatch with both input hashes; `replay` returns the journaled result anyway",
});
export type InputMismatch = Static<typeof InputMismatchSchema>;

export const StepRequestSchema = Type.Object(
  { key: StepKeySchema, action: StepActionSchema, onInputMismatch: Type.Optional(InputMismatchSchema) },
  { $id: "StepRequest", additionalProperties: false },
);
export type StepRequest = Static<typeof StepRequestSchema>;

const StepEventData = {
  seq: Type.Integer(),
  key: Type.String(),
  kind: StepKindSchema,
  attempt: Type.Integer(),
};
const EventFailure = Type.Object({ kind: Type.String(), message: Type.String() });
const runEvent = <T extends TSchema>(type: string, data: T, description: string) =>
  Type.Object(
    {
      id: Type.Integer({ description: "The SSE `id:` field (send it back as Last-Event-ID to resume)" }),
      event: Type.Literal(type, { description: "The SSE `event:` field" }),
      data,
    },
    { description },
  );

/**
 * One Server-Sent Event of GET /v1/runs/{id}/events, as its `id:`, `event:` and `data:` (JSON) fields. The
 * stream replays the run's events after Last-Event-ID, then follows new ones; it ends when the run finishes.
 */
export const RunEventSchema = Type.Union(
  [
    runEvent("step.started", Type.Object(StepEventData), "A step (or a new attempt of it) started"),
    runEvent(
      "step.completed",
      Type.Object({ ...StepEventData, status: Type.Literal("succeeded") }),
      "A step succeeded; its end is journaled",
    ),
    runEvent(
      "step.failed",
      Type.Object({ ...StepEventData, status: Type.Literal("failed"), failure: Type.Optional(EventFailure) }),
      "A step failed; its failure is journaled",
    ),
    runEvent(
      "step.output",
      Type.Object({
        seq: Type.Integer(),
        attempt: Type.Integer(),
        stream: Type.Union([Type.Literal("stdout"), Type.Literal("stderr"), Type.Literal("log")], {
          description: "Container stdout/stderr, or a code-mode console line (log)",
        }),
        text: Type.String({ description: "At most 8 KiB; output is coalesced per 250 ms" }),
        truncated: Type.Optional(
          Type.Literal(true, {
            description:
              "The attempt's live output reached its bound (64 KiB or 256 events); nothing more is streamed. The step's journaled output is unaffected.",
          }),
        ),
      }),
      "Live output of a running step, before its end (the journaled stdout/stderr/logs stay the record)",
    ),
    runEvent(
      "remediation",
      Type.Object(
        { afterSeq: Type.Integer(), kind: Type.String(), action: Type.String(), attempt: Type.Integer() },
        { additionalProperties: true },
      ),
      "The policy retries a failed step by itself (e.g. increase_memory), as a new step",
    ),
    runEvent(
      "run.waiting_for_input",
      Type.Record(Type.String(), Type.Unknown(), { description: "The run's waitingFor" }),
      "The run waits for a human (POST /v1/runs/{id}/input or /resume)",
    ),
    runEvent(
      "run.retrying",
      Type.Object({
        retryAt: Type.String({ format: "date-time" }),
        since: Type.String({ format: "date-time" }),
        attempts: Type.Integer(),
        failure: EventFailure,
      }),
      "A hosted run backs off from a failing model provider until retryAt",
    ),
    runEvent(
      "run.forked",
      Type.Object({
        parentRunId: Type.String(),
        forkedAtSeq: Type.Integer(),
        copiedSteps: Type.Integer({ description: "Steps copied from the parent as replayed entries" }),
      }),
      "The run was made as a fork (the first event of a fork)",
    ),
    runEvent(
      "run.completed",
      Type.Object({
        status: Type.Union([Type.Literal("succeeded"), Type.Literal("failed"), Type.Literal("cancelled")]),
        failure: Type.Optional(EventFailure),
      }),
      "The run finished; the stream ends",
    ),
  ],
  { $id: "RunEvent" },
);
export type RunEvent = Static<typeof RunEventSchema>;

export const CheckpointBodySchema = Type.Object({ value: Type.Unknown() }, { additionalProperties: false });
export const CheckpointSchema = Type.Object({
  key: Type.String(),
  value: Type.Unknown(),
  createdAt: Type.String({ format: "date-time" }),
});
export const InputBodySchema = Type.Object({ input: Type.Unknown() }, { additionalProperties: false });
export const CompleteBodySchema = Type.Object({ output: Type.Unknown() }, { additionalProperties: false });
