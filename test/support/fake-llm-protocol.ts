// The slice of the Chat Completions protocol the fake LLM checks and speaks, as strictly as OpenAI does.
import { decodeToolName, encodeToolName, PROVIDER_TOOL_NAME } from "../../service/src/llm/tool-names.ts";
import type { ReplyTurn } from "./fake-llm-turns.ts";

/** A message as the provider sends it (OpenAI wire format). */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content?: string | null;
  tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

/** The request body the fake received. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: { type: "function"; function: { name: string; description?: string; parameters?: unknown } }[];
  tool_choice?: unknown;
  temperature?: number;
  max_tokens?: number;
  [key: string]: unknown;
}

/** A tool result the model is shown, with the name of the call it answers (decoded to ours). */
export interface ToolResultMessage {
  toolCallId: string;
  name: string;
  content: string;
}

/**
 * Checks a request as OpenAI would (shape, tool names, every tool call answered by a tool message);
 * returns the error message for a 400, or null.
 * @example checkChatRequest({ model: "m", messages: [] }) // "messages must be a non-empty array"
 */
export function checkChatRequest(body: unknown): string | null {
  if (typeof body !== "object" || body === null) return "the body must be a JSON object";
  const b = body as Partial<ChatRequest>;
  if (typeof b.model !== "string" || b.model === "") return "model must be a non-empty string";
  if (!Array.isArray(b.messages) || b.messages.length === 0) return "messages must be a non-empty array";
  const seen = new Set<string>();
  for (const [i, t] of (b.tools ?? []).entries()) {
    const name = t?.function?.name;
    if (t?.type !== "function" || typeof name !== "string")
      return `tools[${i}] must be {type:"function", function:{name}}`;
    if (!PROVIDER_TOOL_NAME.test(name))
      return `tools[${i}].function.name '${name}' does not match ^[a-zA-Z0-9_-]{1,64}$`;
    if (seen.has(name)) return `tools[${i}].function.name '${name}' is duplicated`;
    seen.add(name);
  }
  let pending = new Set<string>();
  for (const [i, m] of b.messages.entries()) {
    if (!["system", "user", "assistant", "tool"].includes(m?.role)) return `messages[${i}].role is invalid`;
    if (m.role === "tool") {
      if (typeof m.tool_call_id !== "string" || !pending.delete(m.tool_call_id)) {
        return `messages[${i}]: a tool message must answer a tool_call_id of the preceding assistant message`;
      }
      if (typeof m.content !== "string") return `messages[${i}].content must be a string`;
      continue;
    }
    if (pending.size > 0) {
      return `messages[${i}]: tool_call_ids ${[...pending].join(", ")} of the assistant message have no tool message`;
    }
    if (m.role === "assistant") {
      if ((m.tool_calls ?? []).length === 0 && typeof m.content !== "string") {
        return `messages[${i}]: an assistant message needs a string content unless it has tool_calls`;
      }
      pending = new Set((m.tool_calls ?? []).map((c) => c.id));
      for (const c of m.tool_calls ?? []) {
        if (typeof c.function?.arguments !== "string")
          return `messages[${i}] tool_calls arguments must be strings`;
      }
    } else if (typeof m.content !== "string") return `messages[${i}].content must be a string`;
  }
  if (pending.size > 0) return `tool_call_ids ${[...pending].join(", ")} have no tool message`;
  return null;
}

/** The first user message: the conversation's identity (it carries the goal). */
export function firstUserMessage(body: ChatRequest): string {
  return body.messages.find((m) => m.role === "user")?.content ?? "";
}

/** Tool results after the last assistant message, in order, named after the calls they answer. */
export function latestToolResults(body: ChatRequest): ToolResultMessage[] {
  const names = new Map<string, string>();
  let lastAssistant = -1;
  for (const [i, m] of body.messages.entries()) {
    if (m.role !== "assistant") continue;
    lastAssistant = i;
    for (const c of m.tool_calls ?? []) names.set(c.id, decodeToolName(c.function.name));
  }
  return body.messages
    .slice(lastAssistant + 1)
    .filter((m) => m.role === "tool")
    .map((m) => ({
      toolCallId: m.tool_call_id!,
      name: names.get(m.tool_call_id!) ?? "",
      content: m.content ?? "",
    }));
}

/**
 * A chat.completion body for a scripted reply; token counts are estimated at ~4 characters a token.
 * @example chatCompletion(body, { content: "hi" }, 0, 1)
 */
export function chatCompletion(body: ChatRequest, turn: ReplyTurn, turnIndex: number, seq: number): object {
  const toolCalls = (turn.toolCalls ?? []).map((c, i) => ({
    id: c.id ?? `call_${turnIndex}_${i}`,
    type: "function",
    function: {
      name: encodeToolName(c.name),
      arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments ?? {}),
    },
  }));
  const content = turn.content ?? (toolCalls.length > 0 ? null : "");
  const promptChars = body.messages.reduce((n, m) => n + (m.content?.length ?? 0), 0);
  const completionChars =
    (content?.length ?? 0) + toolCalls.reduce((n, c) => n + c.function.arguments.length, 0);
  const promptTokens = turn.usage?.promptTokens ?? Math.ceil(promptChars / 4);
  const completionTokens = turn.usage?.completionTokens ?? Math.ceil(completionChars / 4);
  return {
    id: `chatcmpl-fake-${seq}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        finish_reason: turn.finishReason ?? (toolCalls.length > 0 ? "tool_calls" : "stop"),
      },
    ],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

/**
 * A chat.completion as the Server-Sent Events of a streamed answer (`stream: true`): the role, the content
 * and each tool call in two deltas (so a client must concatenate), the finish reason, the usage, [DONE].
 * @example chatCompletionEvents(chatCompletion(body, { content: "hi" }, 0, 1)).join("")
 */
export function chatCompletionEvents(completion: object): string[] {
  const c = completion as {
    id: string;
    created: number;
    model: string;
    choices: {
      message: {
        content: string | null;
        tool_calls?: { id: string; function: { name: string; arguments: string } }[];
      };
      finish_reason: string;
    }[];
    usage: object;
  };
  const base = { id: c.id, object: "chat.completion.chunk", created: c.created, model: c.model };
  const event = (choices: object[], extra: object = {}) =>
    `data: ${JSON.stringify({ ...base, choices, ...extra })}\n\n`;
  const choice = c.choices[0]!;
  const out = [
    event([{ index: 0, delta: { role: "assistant", content: choice.message.content === null ? null : "" } }]),
  ];
  const text = choice.message.content ?? "";
  if (text) {
    const half = Math.ceil(text.length / 2);
    out.push(event([{ index: 0, delta: { content: text.slice(0, half) } }]));
    out.push(event([{ index: 0, delta: { content: text.slice(half) } }]));
  }
  for (const [i, call] of (choice.message.tool_calls ?? []).entries()) {
    const args = call.function.arguments;
    const half = Math.ceil(args.length / 2);
    out.push(
      event([
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: i,
                id: call.id,
                type: "function",
                function: { name: call.function.name, arguments: args.slice(0, half) },
              },
            ],
          },
        },
      ]),
    );
    out.push(
      event([{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: args.slice(half) } }] } }]),
    );
  }
  out.push(event([{ index: 0, delta: {}, finish_reason: choice.finish_reason }]));
  out.push(event([], { usage: c.usage }));
  out.push("data: [DONE]\n\n");
  return out;
}
