// Turns one model tool call into what the loop does next, checking the model's arguments like any input.
import { Type, type TSchema } from "@sinclair/typebox";
import { CodeModeLimitsSchema, ContainerLimitsSchema, InputFileSchema, MAX_CODE_CHARS } from "@mend/wire";
import { schemaErrors } from "../lib/schema-errors.ts";
import { compiledCheck } from "../lib/compiled-check.ts";
import type { LlmToolCall } from "../llm/llm-provider.ts";
import type { ActionSpec } from "../engine/step-action.ts";
import { ASK_HUMAN, FINISH, RUN_CODE, RUN_ORCHESTRATION } from "./loop-actions.ts";
import { renderLoopError } from "./render-result.ts";

export type ParsedCall =
  | { kind: "finish"; answer: unknown }
  | { kind: "ask_human"; question: string }
  | { kind: "action"; action: ActionSpec }
  | { kind: "invalid"; content: string };

const Code = Type.String({ minLength: 1, maxLength: MAX_CODE_CHARS });
const closed = { additionalProperties: false } as const;
/** The actions' arguments: closed objects, so a field the loop does not know is refused, never dropped. */
const schemas: Record<string, TSchema> = {
  [RUN_ORCHESTRATION]: Type.Object(
    {
      code: Code,
      language: Type.Optional(Type.Union([Type.Literal("javascript"), Type.Literal("python")])),
      limits: Type.Optional(CodeModeLimitsSchema),
    },
    closed,
  ),
  [RUN_CODE]: Type.Object(
    {
      image: Type.String({ minLength: 1, maxLength: 64 }),
      code: Code,
      files: Type.Optional(Type.Array(InputFileSchema, { maxItems: 64 })),
      limits: Type.Optional(ContainerLimitsSchema),
    },
    closed,
  ),
  [ASK_HUMAN]: Type.Object({ question: Type.String({ minLength: 1, maxLength: 10_000 }) }, closed),
};

/** Fields other vocabularies use for `limits`: named in the error, so the model fixes its call at once. */
const LIMITS_ALIASES = ["resources", "resourceLimits", "limit"];

/** `null` for an optional field means "not given" (strict-mode models send every field). */
function withoutNulls(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (v === null) continue;
    out[k] =
      k === "limits" && typeof v === "object" && !Array.isArray(v)
        ? withoutNulls(v as Record<string, unknown>)
        : v;
  }
  return out;
}

function invalid(name: string, message: string, extra: Record<string, unknown> = {}): ParsedCall {
  return { kind: "invalid", content: renderLoopError("malformed_arguments", `${name}: ${message}`, extra) };
}

/**
 * Parses and checks a call's arguments. Structured tools are checked later, against their own schemas.
 * @example parseCall({ id: "c1", name: "run_code", argumentsJson: '{"image":"python","code":"print(1)"}' })
 */
export function parseCall(call: LlmToolCall): ParsedCall {
  let args: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(call.argumentsJson || "{}");
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("arguments must be a JSON object");
    args = parsed as Record<string, unknown>;
  } catch (e) {
    return invalid(call.name, `the arguments are not a JSON object: ${(e as Error).message}`, {
      received: call.argumentsJson.slice(0, 500),
    });
  }
  if (call.name === FINISH) return { kind: "finish", answer: args.answer ?? null };
  // The model names the action: only the schemas' own keys (never `constructor` and the like).
  const schema = Object.hasOwn(schemas, call.name) ? schemas[call.name] : undefined;
  const check = schema && compiledCheck(schema);
  if (check) args = withoutNulls(args);
  if (schema && check && !check.Check(args)) {
    const errors = schemaErrors(schema, args, 10, check.Errors(args));
    const alias = LIMITS_ALIASES.find((a) => a in args);
    const unknown = errors.filter((e) => e.message === "Unexpected property").map((e) => e.path.slice(1));
    const message = unknown.length
      ? `unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `"${u}"`).join(", ")}${alias ? ` (resources go in "limits", e.g. {"limits": {"memoryMb": 128}})` : ""}; nothing was run`
      : "the arguments do not match the action's schema; nothing was run";
    return invalid(call.name, message, { errors });
  }
  if (call.name === ASK_HUMAN) return { kind: "ask_human", question: args.question as string };
  if (call.name === RUN_ORCHESTRATION) {
    const { code, language, limits } = args as {
      code: string;
      language?: "javascript" | "python";
      limits?: Record<string, number>;
    };
    return {
      kind: "action",
      action: {
        type: "codemode",
        code,
        ...(language === "python" ? { language } : {}),
        ...(limits ? { limits } : {}),
      },
    };
  }
  if (call.name === RUN_CODE) {
    const { image, code, files, limits } = args as {
      image: string;
      code: string;
      files?: { path: string; content: string }[];
      limits?: Record<string, number>;
    };
    return {
      kind: "action",
      action: { type: "container", image, code, ...(files ? { files } : {}), limits: limits ?? {} },
    };
  }
  return { kind: "action", action: { type: "tool", tool: call.name, args } };
}
