// OpenAI-compatible Chat Completions (OpenAI, vLLM, llama.cpp, Ollama, LM Studio, gateways) over undici request on the shared provider pool (provider-pool.ts).
import { Type, type Static } from "@sinclair/typebox";
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
import { compiledCheck } from "../lib/compiled-check.ts";

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
const checkChatResponse = () => compiledCheck(ChatResponseSchema);

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
      openAiBodyParts(request),
      (json) =>
        checkChatResponse().Check(json)
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

/** The body's head (model and system message) per system prompt and model: the runs of a policy share it. */
const heads = new Map<string, Map<string, Buffer>>();
/** The body's tail (tools, options, stream flags) per offered tool list and options. */
const tails = new WeakMap<LlmTool[], Map<string, Buffer>>();
const NO_TOOLS: LlmTool[] = [];
/** Distinct system prompts whose heads are kept (a few policies at a time; past it the table starts afresh). */
const MAX_HEADS = 64;

function headOf(request: LlmRequest): Buffer {
  let byModel = heads.get(request.system);
  if (!byModel) {
    if (heads.size >= MAX_HEADS) heads.clear();
    heads.set(request.system, (byModel = new Map()));
  }
  let head = byModel.get(request.model);
  if (!head) {
    const system = JSON.stringify({ role: "system", content: request.system });
    head = Buffer.from(`{"model":${JSON.stringify(request.model)},"messages":[${system}`);
    byModel.set(request.model, head);
  }
  return head;
}

function tailOf(request: LlmRequest): Buffer {
  const list = request.tools.length > 0 ? request.tools : NO_TOOLS;
  let byOptions = tails.get(list);
  if (!byOptions) tails.set(list, (byOptions = new Map()));
  const options = `${request.temperature}/${request.maxOutputTokens}`;
  let tail = byOptions.get(options);
  if (!tail) {
    let out = "]";
    if (list.length > 0) out += `,"tools":${toolsOf(list).json},"tool_choice":"auto"`;
    if (request.temperature !== undefined) out += `,"temperature":${JSON.stringify(request.temperature)}`;
    if (request.maxOutputTokens !== undefined)
      out += `,"max_tokens":${JSON.stringify(request.maxOutputTokens)}`;
    tail = Buffer.from(`${out},"stream":true,"stream_options":{"include_usage":true}}`);
    byOptions.set(options, tail);
  }
  return tail;
}

/**
 * The streamed request's body, the bytes of `JSON.stringify({ ...toOpenAiBody(request), stream: true, ... })`,
 * in three parts: the head (model, system prompt) and the tail (tools, options) are the same Buffers for every
 * turn of every run that shares them; only the messages are new bytes. A call waiting on the model holds its
 * ~1 KB of messages, not a ~12 KB copy of the whole body.
 * @example Buffer.concat(openAiBodyParts({ model: "m", system: "s", messages: [], tools: [] })).toString()
 */
export function openAiBodyParts(request: LlmRequest): Buffer[] {
  let messages = "";
  for (const m of request.messages) {
    let j = messageJson.get(m);
    if (j === undefined) messageJson.set(m, (j = JSON.stringify(toOpenAiMessage(m))));
    messages += `,${j}`;
  }
  return [headOf(request), Buffer.from(messages), tailOf(request)];
}

/**
 * The body of `openAiBodyParts` as one string.
 * @example JSON.parse(openAiBodyJson({ model: "m", system: "s", messages: [], tools: [] })).stream // true
 */
export function openAiBodyJson(request: LlmRequest): string {
  return Buffer.concat(openAiBodyParts(request)).toString("utf8");
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
  const first = checkChatResponse().Errors(json).First();
  return first ? `${first.path || "/"} ${first.message}` : "unexpected shape";
}
