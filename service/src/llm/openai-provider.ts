// OpenAI-compatible Chat Completions (OpenAI, vLLM, llama.cpp, Ollama, LM Studio, gateways) over plain fetch.
import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { jsonPostAttempt } from "./http-attempt.ts";
import { openAiAssembler } from "./stream-assemblers.ts";
import type {
  LlmMessage,
  LlmOutcome,
  LlmProvider,
  LlmRequest,
  LlmResponse,
  LlmTool,
  LlmToolCall,
} from "./llm-provider.ts";
import { withRetries, type RetryOptions } from "./retry.ts";
import { encodeToolName, toolNameDecoder } from "./tool-names.ts";

export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

const ChatResponseSchema = Type.Object({
  choices: Type.Array(
    Type.Object({
      message: Type.Object({
        content: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        tool_calls: Type.Optional(
          Type.Union([
            Type.Null(),
            Type.Array(
              Type.Object({
                id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
                function: Type.Object({
                  name: Type.String(),
                  // Some compatible servers send an object instead of the JSON text.
                  arguments: Type.Optional(
                    Type.Union([Type.String(), Type.Record(Type.String(), Type.Unknown())]),
                  ),
                }),
              }),
            ),
          ]),
        ),
      }),
      finish_reason: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    }),
    { minItems: 1 },
  ),
  usage: Type.Optional(
    Type.Union([
      Type.Null(),
      Type.Object({
        prompt_tokens: Type.Optional(Type.Number()),
        completion_tokens: Type.Optional(Type.Number()),
      }),
    ]),
  ),
});
type ChatResponse = Static<typeof ChatResponseSchema>;
const checkChatResponse = TypeCompiler.Compile(ChatResponseSchema);

export interface OpenAiProviderOptions extends RetryOptions {
  /** e.g. http://127.0.0.1:11434/v1 (default https://api.openai.com/v1). */
  baseUrl?: string;
  /** Sent as a Bearer token; local servers usually need none. */
  apiKey?: string;
}

/**
 * A provider speaking `POST {baseUrl}/chat/completions` with tool calling.
 * @example const llm = new OpenAiProvider({ baseUrl: "http://127.0.0.1:11434/v1" }); await llm.complete(req)
 */
export class OpenAiProvider implements LlmProvider {
  readonly name = "openai" as const;
  readonly #url: string;
  readonly #apiKey: string | undefined;
  readonly #retry: RetryOptions;

  constructor(options: OpenAiProviderOptions = {}) {
    const { baseUrl, apiKey, ...retry } = options;
    this.#url = `${(baseUrl ?? OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, "")}/chat/completions`;
    this.#apiKey = apiKey;
    this.#retry = retry;
  }

  async complete(request: LlmRequest, signal?: AbortSignal): Promise<LlmOutcome> {
    const headers: Record<string, string> = {};
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    if (request.idempotencyKey) headers["idempotency-key"] = request.idempotencyKey;
    const decode = toolsOf(request.tools).decode;
    const once = jsonPostAttempt<Omit<LlmResponse, "attempts">>(
      this.#url,
      headers,
      // Streamed, so a provider that goes silent is noticed by the stall timeout, not the call's.
      openAiBodyJson(request),
      (json) =>
        checkChatResponse.Check(json)
          ? { value: fromOpenAiResponse(json, decode) }
          : { invalid: describeInvalid(json) },
      { stallMs: this.#retry.stallTimeoutMs, stream: openAiAssembler },
    );
    const result = await withRetries("openai", once, this.#retry, signal);
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
 * The Chat Completions request body for one of our requests (tool names encoded).
 * @example toOpenAiBody({ model: "m", system: "s", messages: [], tools: [] }).messages[0] // { role: "system", ... }
 */
export function toOpenAiBody(request: LlmRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: request.model,
    messages: [{ role: "system", content: request.system }, ...request.messages.map(toOpenAiMessage)],
  };
  if (request.tools.length > 0) {
    body.tools = request.tools.map((t) => ({
      type: "function",
      function: { name: encodeToolName(t.name), description: t.description, parameters: t.inputSchema },
    }));
    body.tool_choice = "auto";
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.maxOutputTokens !== undefined) body.max_tokens = request.maxOutputTokens;
  return body;
}

/** Per offered tool list (the same array for every turn of a run): its JSON in the body, and its name decoder. */
const toolLists = new WeakMap<LlmTool[], { json: string; decode: (name: string) => string }>();
/** The system message's JSON per system prompt (the runs of a policy share theirs; a few at a time). */
const systemJson = new Map<string, string>();
/** Each message's JSON in the body (messages are never changed in place). */
const messageJson = new WeakMap<LlmMessage, string>();

function toolsOf(tools: LlmTool[]): { json: string; decode: (name: string) => string } {
  let t = toolLists.get(tools);
  if (!t) {
    const body = toOpenAiBody({ model: "", system: "", messages: [], tools });
    t = { json: JSON.stringify(body.tools ?? []), decode: toolNameDecoder(tools.map((x) => x.name)) };
    toolLists.set(tools, t);
  }
  return t;
}

/**
 * The streamed request's JSON, the same as `JSON.stringify({ ...toOpenAiBody(request), stream: true, ... })`
 * but built from the cached JSON of the run's tool list and of each message: a turn serializes only what is new.
 * @example JSON.parse(openAiBodyJson({ model: "m", system: "s", messages: [], tools: [] })).stream // true
 */
export function openAiBodyJson(request: LlmRequest): string {
  let system = systemJson.get(request.system);
  if (system === undefined) {
    if (systemJson.size >= 64) systemJson.clear();
    systemJson.set(request.system, (system = JSON.stringify({ role: "system", content: request.system })));
  }
  let out = `{"model":${JSON.stringify(request.model)},"messages":[${system}`;
  for (const m of request.messages) {
    let j = messageJson.get(m);
    if (j === undefined) messageJson.set(m, (j = JSON.stringify(toOpenAiMessage(m))));
    out += `,${j}`;
  }
  out += "]";
  if (request.tools.length > 0) out += `,"tools":${toolsOf(request.tools).json},"tool_choice":"auto"`;
  if (request.temperature !== undefined) out += `,"temperature":${JSON.stringify(request.temperature)}`;
  if (request.maxOutputTokens !== undefined)
    out += `,"max_tokens":${JSON.stringify(request.maxOutputTokens)}`;
  return `${out},"stream":true,"stream_options":{"include_usage":true}}`;
}

function toOpenAiMessage(m: LlmMessage): Record<string, unknown> {
  if (m.role === "user") return { role: "user", content: m.content };
  if (m.role === "tool") return { role: "tool", tool_call_id: m.toolCallId, content: m.content };
  const hasCalls = m.toolCalls !== undefined && m.toolCalls.length > 0;
  // OpenAI only accepts a null content next to tool_calls
  const out: Record<string, unknown> = {
    role: "assistant",
    content: hasCalls ? m.content : (m.content ?? ""),
  };
  if (m.toolCalls && hasCalls) {
    out.tool_calls = m.toolCalls.map((c) => ({
      id: c.id,
      type: "function",
      function: { name: encodeToolName(c.name), arguments: c.argumentsJson },
    }));
  }
  return out;
}

function fromOpenAiResponse(
  json: ChatResponse,
  decode: (name: string) => string,
): Omit<LlmResponse, "attempts"> {
  const choice = json.choices[0]!;
  const toolCalls: LlmToolCall[] = (choice.message.tool_calls ?? []).map((c, i) => ({
    id: c.id || `call_${i}`,
    name: decode(c.function.name),
    argumentsJson:
      typeof c.function.arguments === "string"
        ? c.function.arguments
        : JSON.stringify(c.function.arguments ?? {}),
  }));
  return {
    content: choice.message.content ?? null,
    toolCalls,
    usage: { inputTokens: json.usage?.prompt_tokens ?? 0, outputTokens: json.usage?.completion_tokens ?? 0 },
    finishReason: choice.finish_reason ?? (toolCalls.length > 0 ? "tool_calls" : "stop"),
  };
}

/** What is wrong with a 200 that is not a chat completion, in words (the common cases named). */
function describeInvalid(json: unknown): string {
  const choices = (json as { choices?: unknown } | null)?.choices;
  if (Array.isArray(choices) && choices.length === 0)
    return "the provider answered with no choices (an empty `choices` array: no message to read)";
  if (choices === undefined) return "the provider's answer has no `choices` (not a chat completion)";
  const first = checkChatResponse.Errors(json).First();
  return first ? `${first.path || "/"} ${first.message}` : "unexpected shape";
}
