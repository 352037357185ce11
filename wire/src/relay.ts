// The relay of client-hosted tools: a code-mode execution whose tool calls are answered by the caller.
import { Type, type Static } from "@sinclair/typebox";
import { CodeModeEngineSchema, CodeModeLanguageSchema } from "./engines.ts";
import { CodeModeLimitsSchema, ExecutionResponseSchema } from "./execution.ts";
import { ProblemSchema } from "./problem.ts";
/** A tool hosted by the client of a relay execution: the script sees it as `tools.<name>`. */
export const RelayToolSchema = Type.Object(
  {
    name: Type.String({ pattern: "^[A-Za-z_][\\w-]*(\\.[A-Za-z_][\\w-]*)*$", maxLength: 128 }),
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    inputSchema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type RelayTool = Static<typeof RelayToolSchema>;

/** POST /v1/relay/executions: a code-mode script plus the tools the client hosts. */
export const RelayStartSchema = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 256 * 1024 }),
    language: Type.Optional(CodeModeLanguageSchema),
    engine: Type.Optional(CodeModeEngineSchema),
    limits: Type.Optional(CodeModeLimitsSchema),
    seed: Type.Optional(Type.Integer()),
    tools: Type.Array(RelayToolSchema, { maxItems: 256, description: "Tools hosted by the client" }),
    serverTools: Type.Optional(
      Type.Array(Type.String({ maxLength: 128 }), {
        maxItems: 256,
        description: "Service tools also bound (policy permitting)",
      }),
    ),
    runId: Type.Optional(
      Type.String({ description: "Journal the script as a step of this client-driven run" }),
    ),
    key: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: "The step key (with runId)" }),
    ),
  },
  { $id: "RelayStart", additionalProperties: false },
);
export type RelayStart = Static<typeof RelayStartSchema>;

/** One line of the relay stream. */
export const RelayEventSchema = Type.Union(
  [
    Type.Object({
      type: Type.Literal("started"),
      id: Type.String(),
      runId: Type.String(),
      key: Type.String(),
    }),
    Type.Object({
      type: Type.Literal("tool_call"),
      seq: Type.Integer(),
      tool: Type.String(),
      args: Type.Unknown(),
    }),
    Type.Object({ type: Type.Literal("ping") }),
    Type.Object({ type: Type.Literal("result"), execution: ExecutionResponseSchema }),
    Type.Object({ type: Type.Literal("error"), problem: ProblemSchema }),
  ],
  { $id: "RelayEvent" },
);
export type RelayEvent = Static<typeof RelayEventSchema>;

/** POST /v1/relay/executions/{id}/results/{seq}: the client's answer to one tool call. */
export const RelayAnswerSchema = Type.Union(
  [
    Type.Object({ ok: Type.Literal(true), value: Type.Unknown() }, { additionalProperties: false }),
    Type.Object(
      {
        ok: Type.Literal(false),
        error: Type.Object({ message: Type.String(), type: Type.Optional(Type.String()) }),
      },
      { additionalProperties: false },
    ),
  ],
  { $id: "RelayAnswer" },
);
export type RelayAnswer = Static<typeof RelayAnswerSchema>;
