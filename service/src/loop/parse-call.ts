// Turns one model tool call into what the loop does next, checking the model's arguments like any input.
import { Type, type TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { ContainerLimitsSchema, InputFileSchema, MAX_CODE_CHARS } from "@mend/wire";
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
const checks: Record<string, TypeCheck<TSchema>> = {
  [RUN_ORCHESTRATION]: TypeCompiler.Compile(
    Type.Object({
      code: Code,
      language: Type.Optional(Type.Union([Type.Literal("javascript"), Type.Literal("python")])),
    }),
  ),
  [RUN_CODE]: TypeCompiler.Compile(
    Type.Object({
      image: Type.String({ minLength: 1, maxLength: 64 }),
      code: Code,
      files: Type.Optional(Type.Array(InputFileSchema, { maxItems: 64 })),
      resources: Type.Optional(ContainerLimitsSchema),
    }),
  ),
  [ASK_HUMAN]: TypeCompiler.Compile(
    Type.Object({ question: Type.String({ minLength: 1, maxLength: 10_000 }) }),
  ),
};

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
  const check = checks[call.name];
  if (check && !check.Check(args)) {
    const errors = [...check.Errors(args)]
      .slice(0, 10)
      .map((e) => ({ path: e.path || "/", message: e.message }));
    return invalid(call.name, "the arguments do not match the action's schema", { errors });
  }
  if (call.name === ASK_HUMAN) return { kind: "ask_human", question: args.question as string };
  if (call.name === RUN_ORCHESTRATION) {
    const language = args.language as "javascript" | "python" | undefined;
    return {
      kind: "action",
      action: { type: "codemode", code: args.code as string, ...(language === "python" ? { language } : {}) },
    };
  }
  if (call.name === RUN_CODE) {
    const { image, code, files, resources } = args as {
      image: string;
      code: string;
      files?: { path: string; content: string }[];
      resources?: Record<string, number>;
    };
    return {
      kind: "action",
      action: { type: "container", image, code, ...(files ? { files } : {}), limits: resources ?? {} },
    };
  }
  return { kind: "action", action: { type: "tool", tool: call.name, args } };
}
