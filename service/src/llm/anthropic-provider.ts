// The Anthropic Messages API over undici request on the shared provider pool: top-level system, tool_use / tool_result content blocks.
import { Type, type Static } from "@sinclair/typebox";
import { jsonPostAttempt } from "./http-attempt.ts";
import { anthropicAssembler } from "./stream-assemblers.ts";
import type {
  LlmMessage,
  LlmOutcome,
  LlmProvider,
  LlmRequest,
  LlmResponse,
  LlmToolCall,
} from "./llm-provider.ts";
import { withRetries, type RetryOptions } from "./retry.ts";
import { encodeToolName, toolNameDecoder } from "./tool-names.ts";
import { compiledCheck } from "../lib/compiled-check.ts";

export const ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com";
export const ANTHROPIC_VERSION = "2023-06-01";
/** The Messages API requires max_tokens; used when the request sets none. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

const TextBlockSchema = Type.Object({ type: Type.Literal("text"), text: Type.String() });
const ToolUseBlockSchema = Type.Object({
  type: Type.Literal("tool_use"),
  id: Type.String(),
  name: Type.String(),
  input: Type.Unknown(),
});
const MessagesResponseSchema = Type.Object({
  // thinking and future block types are ignored; text and tool_use blocks are checked one by one
  content: Type.Array(Type.Object({ type: Type.String() })),
  stop_reason: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  usage: Type.Optional(
    Type.Object({ input_tokens: Type.Optional(Type.Number()), output_tokens: Type.Optional(Type.Number()) }),
  ),
});
type MessagesResponse = Static<typeof MessagesResponseSchema>;
const checkMessagesResponse = () => compiledCheck(MessagesResponseSchema);
const checkTextBlock = () => compiledCheck(TextBlockSchema);
const checkToolUseBlock = () => compiledCheck(ToolUseBlockSchema);

/** Anthropic's stop reasons in the OpenAI vocabulary the loop reads. */
const FINISH_REASONS: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  tool_use: "tool_calls",
  max_tokens: "length",
};

export interface AnthropicProviderOptions extends RetryOptions {
  /** Default https://api.anthropic.com (the provider appends /v1/messages). */
  baseUrl?: string;
  apiKey?: string;
}

type Block = Record<string, unknown> & { type: string };
interface AnthropicMessage {
  role: "user" | "assistant";
  content: Block[];
}

/**
 * A provider speaking `POST {baseUrl}/v1/messages`.
 * @example const llm = new AnthropicProvider({ apiKey: process.env.KEY }); await llm.complete(req)
 */
export class AnthropicProvider implements LlmProvider {
  readonly name = "anthropic" as const;
  readonly #url: string;
  readonly #apiKey: string | undefined;
  readonly #retry: RetryOptions;

  constructor(options: AnthropicProviderOptions = {}) {
    const { baseUrl, apiKey, ...retry } = options;
    this.#url = `${(baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL).replace(/\/+$/, "")}/v1/messages`;
    this.#apiKey = apiKey;
    this.#retry = retry;
  }

  async complete(request: LlmRequest, signal?: AbortSignal): Promise<LlmOutcome> {
    const headers: Record<string, string> = { "anthropic-version": ANTHROPIC_VERSION };
    if (this.#apiKey) headers["x-api-key"] = this.#apiKey;
    if (request.idempotencyKey) headers["idempotency-key"] = request.idempotencyKey;
    const decode = toolNameDecoder(request.tools.map((t) => t.name));
    const once = jsonPostAttempt<Omit<LlmResponse, "attempts">>(
      this.#url,
      headers,
      // Streamed, so a provider that goes silent is noticed by the stall timeout, not the call's.
      JSON.stringify({ ...toAnthropicBody(request), stream: true }),
      (json) =>
        checkMessagesResponse().Check(json)
          ? fromAnthropicResponse(json, decode)
          : { invalid: describeInvalid(json) },
      { stallMs: this.#retry.stallTimeoutMs, stream: anthropicAssembler },
    );
    const result = await withRetries("anthropic", once, this.#retry, signal);
    if (!result.ok) return result;
    return {
      ok: true,
      response: {
        ...result.value,
        attempts: result.attempts,
        ...(result.retries.length ? { retries: result.retries } : {}),
      },
    };
  }
}

/**
 * The Messages request body: system on top, roles alternating (adjacent same-role messages merged, so
 * consecutive tool results become one user message with a tool_result block each).
 * @example toAnthropicBody({ model: "m", system: "s", messages: [{ role: "user", content: "hi" }], tools: [] })
 */
export function toAnthropicBody(request: LlmRequest): Record<string, unknown> {
  const messages: AnthropicMessage[] = [];
  for (const m of request.messages) {
    const next = toAnthropicMessage(m);
    const prev = messages.at(-1);
    if (prev && prev.role === next.role) prev.content.push(...next.content);
    else messages.push(next);
  }
  // tool_result blocks must open a user message, before any text
  for (const m of messages) {
    if (m.role === "user") m.content.sort((a, b) => rank(a) - rank(b));
  }
  const body: Record<string, unknown> = {
    model: request.model,
    system: request.system,
    messages,
    max_tokens: request.maxOutputTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
  };
  if (request.tools.length > 0) {
    body.tools = request.tools.map((t) => ({
      name: encodeToolName(t.name),
      description: t.description,
      input_schema: t.inputSchema,
    }));
    body.tool_choice = { type: "auto" };
  }
  // Anthropic accepts 0..1; the run's model spec allows 0..2 (OpenAI's range)
  if (request.temperature !== undefined) body.temperature = Math.min(1, request.temperature);
  return body;
}

function rank(b: Block): number {
  return b.type === "tool_result" ? 0 : 1;
}

function toAnthropicMessage(m: LlmMessage): AnthropicMessage {
  if (m.role === "user") return { role: "user", content: [{ type: "text", text: m.content || "(empty)" }] };
  if (m.role === "tool") {
    return {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: m.toolCallId, content: m.content }],
    };
  }
  const content: Block[] = [];
  if (m.content) content.push({ type: "text", text: m.content });
  for (const c of m.toolCalls ?? []) {
    content.push({
      type: "tool_use",
      id: c.id,
      name: encodeToolName(c.name),
      input: toolInput(c.argumentsJson),
    });
  }
  if (content.length === 0) content.push({ type: "text", text: "(no answer)" });
  return { role: "assistant", content };
}

/** tool_use.input must be an object; arguments that were not one are kept as text under `_raw`. */
function toolInput(argumentsJson: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(argumentsJson);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* malformed: kept raw below */
  }
  return { _raw: argumentsJson };
}

function fromAnthropicResponse(
  json: MessagesResponse,
  decode: (name: string) => string,
): { value: Omit<LlmResponse, "attempts"> } | { invalid: string } {
  const texts: string[] = [];
  const toolCalls: LlmToolCall[] = [];
  for (const [i, block] of json.content.entries()) {
    if (block.type === "text") {
      if (!checkTextBlock().Check(block)) return { invalid: `/content/${i} is a text block without text` };
      texts.push(block.text);
    } else if (block.type === "tool_use") {
      if (!checkToolUseBlock().Check(block))
        return { invalid: `/content/${i} is a tool_use block without id or name` };
      toolCalls.push({
        id: block.id,
        name: decode(block.name),
        argumentsJson: JSON.stringify(block.input ?? {}),
      });
    }
  }
  const stop = json.stop_reason ?? (toolCalls.length > 0 ? "tool_use" : "end_turn");
  return {
    value: {
      content: texts.length > 0 ? texts.join("") : null,
      toolCalls,
      usage: { inputTokens: json.usage?.input_tokens ?? 0, outputTokens: json.usage?.output_tokens ?? 0 },
      finishReason: FINISH_REASONS[stop] ?? stop,
    },
  };
}

function describeInvalid(json: unknown): string {
  const first = checkMessagesResponse().Errors(json).First();
  return first ? `${first.path || "/"} ${first.message}` : "unexpected shape";
}
