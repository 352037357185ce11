// The JSON Schemas /mcp advertises: inputs derived from the wire schemas and made strict-mode compatible
// (closed objects, optional fields that accept null), outputs that are the wire's response schemas.
import { Type, type TSchema } from "@sinclair/typebox";
import {
  CodeModeActionSchema,
  ContainerActionSchema,
  ExecutionResponseSchema,
  InputMismatchSchema,
  RunSchema,
  StepSchema,
} from "@mend/wire";
import { strictCompatible } from "../../llm/strict-schema.ts";

type Json = Record<string, unknown>;

/** A plain JSON copy: TypeBox's symbol keys and every `$id` dropped (clients compile each tool's schema alone). */
export function plain(schema: TSchema | Json): Json {
  return JSON.parse(JSON.stringify(schema, (k, v: unknown) => (k === "$id" ? undefined : v))) as Json;
}

/** The fields that make an execution a journaled step of a client-driven run. */
const StepFields = {
  runId: Type.Optional(
    Type.String({
      description: "A client-driven run to journal this execution in, as step `key` (with key)",
    }),
  ),
  key: Type.Optional(
    Type.String({
      description:
        "The step key within runId: the same key again returns the journaled result instead of executing",
    }),
  ),
  onInputMismatch: Type.Optional(InputMismatchSchema),
};

/** An execution's wire schema without its `sandbox` discriminator, plus the step fields. */
function executionInput(action: TSchema & { properties: Record<string, TSchema> }): Json {
  const { sandbox: _drop, ...fields } = action.properties;
  return strictCompatible(plain(Type.Object({ ...fields, ...StepFields }, { additionalProperties: false })));
}

/**
 * The input schema of `run_code`; `images` (the caller's policy's) become an enum a model can read.
 * @example runCodeInput(["python"]).properties.image // { type: "string", enum: ["python"], ... }
 */
export function runCodeInput(images: string[]): Json {
  const schema = executionInput(ContainerActionSchema);
  const properties = schema.properties as Record<string, Json>;
  properties.image = {
    type: "string",
    ...(images.length ? { enum: images } : {}),
    description: `Runtime image${images.length ? `: ${images.join(", ")}` : ""}`,
  };
  properties.code = { type: "string", description: "The program (Python, JavaScript or bash per image)" };
  return schema;
}

/** The input schema of `run_orchestration`. */
export const RUN_ORCHESTRATION_INPUT = executionInput(CodeModeActionSchema);

const closed = (properties: Record<string, TSchema>): Json =>
  strictCompatible(plain(Type.Object(properties, { additionalProperties: false })));

export const LIST_TOOLS_INPUT = closed({});
export const GET_RUN_INPUT = closed({
  id: Type.String({ description: "The run id (run_...)" }),
  steps: Type.Optional(Type.Boolean({ description: "Include the run's journal" })),
});
export const ANSWER_RUN_INPUT = closed({
  id: Type.String({ description: "The run id (run_...)" }),
  input: Type.String({ description: "The answer, as text (or JSON text with json: true)" }),
  json: Type.Optional(Type.Boolean({ description: "Parse input as JSON and answer with that value" })),
});
export const RESUME_RUN_INPUT = closed({ id: Type.String({ description: "The run id (run_...)" }) });
/** fork_run: ForkRunSchema flattened for strict mode (the model by name, the edited step as JSON text). */
export const FORK_RUN_INPUT = closed({
  id: Type.String({ description: "The run to fork (run_...)" }),
  atSeq: Type.Integer({
    minimum: 1,
    description:
      "The fork point: the run's steps before this seq are replayed, from here on the fork runs live",
  }),
  goal: Type.Optional(Type.String({ description: "Another goal (default: the parent's)" })),
  model: Type.Optional(Type.String({ description: "Another model name (default: the parent's)" })),
  tools: Type.Optional(
    Type.Array(Type.String(), { description: "Narrow the fork to these tools (default: the parent's)" }),
  ),
  replaceInput: Type.Optional(
    Type.String({
      description:
        'Hosted runs: step atSeq runs this action instead, as JSON text of a step action, e.g. {"type":"tool","tool":"echo","args":{"text":"hi"}}',
    }),
  ),
});

/** What the tools answer (structuredContent), as JSON Schemas. */
export const EXECUTION_OUTPUT = plain(ExecutionResponseSchema);
export const RUN_OUTPUT = plain(Type.Object({ run: RunSchema }));
export const GET_RUN_OUTPUT = plain(
  Type.Object({ run: RunSchema, steps: Type.Optional(Type.Array(StepSchema)) }),
);
export const LIST_TOOLS_OUTPUT = plain(
  Type.Object({
    tools: Type.Array(
      Type.Object({
        name: Type.String(),
        description: Type.String(),
        inputSchema: Type.Record(Type.String(), Type.Unknown()),
        version: Type.String(),
      }),
    ),
    dts: Type.String({ description: "TypeScript declarations of `tools` inside run_orchestration scripts" }),
    pyi: Type.String({ description: "Python stubs of `tools` inside Python run_orchestration scripts" }),
  }),
);
