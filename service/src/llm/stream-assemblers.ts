// Streamed answers (Server-Sent Events) back into the one JSON body each provider sends unstreamed, so one
// parser serves both: OpenAI chat.completion.chunk deltas, Anthropic message events.

/** Collects the events of one streamed answer; `result` is the equivalent unstreamed JSON body. */
export interface StreamAssembler {
  /** One SSE event: its `event:` name (if any) and its `data:` text. */
  event(name: string | undefined, data: string): void;
  result(): unknown;
}

type Bag = Record<string, unknown>;
const bag = (v: unknown): Bag => (typeof v === "object" && v !== null ? (v as Bag) : {});
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/**
 * OpenAI Chat Completions with `stream: true`: content and tool-call deltas (by index) concatenated,
 * finish_reason and usage (with `stream_options.include_usage`) kept; an `error` chunk is the body.
 * @example const a = openAiAssembler(); a.event(undefined, '{"choices":[{"delta":{"content":"hi"}}]}'); a.result()
 */
export function openAiAssembler(): StreamAssembler {
  let content: string | null = null;
  const calls: { id?: string; name: string; arguments: string }[] = [];
  let finish: string | undefined;
  let usage: unknown;
  let error: unknown;
  let chunks = 0;
  return {
    event(_name, data) {
      if (data.trim() === "[DONE]") return;
      const chunk = bag(parseJson(data));
      if (chunk.error !== undefined) error = chunk.error;
      if (chunk.usage) usage = chunk.usage;
      const choice = bag(Array.isArray(chunk.choices) ? chunk.choices[0] : undefined);
      if (!Array.isArray(chunk.choices) || chunk.choices.length === 0) return;
      chunks++;
      const delta = bag(choice.delta ?? choice.message);
      const text = str(delta.content);
      if (text !== undefined) content = (content ?? "") + text;
      for (const d of Array.isArray(delta.tool_calls) ? delta.tool_calls.map(bag) : []) {
        const i = typeof d.index === "number" ? d.index : calls.length;
        const call = (calls[i] ??= { name: "", arguments: "" });
        const fn = bag(d.function);
        if (str(d.id)) call.id = str(d.id);
        if (str(fn.name)) call.name += str(fn.name);
        if (str(fn.arguments)) call.arguments += str(fn.arguments);
      }
      if (str(choice.finish_reason)) finish = str(choice.finish_reason);
    },
    result() {
      if (error !== undefined && chunks === 0) return { error };
      if (chunks === 0) return { choices: [] };
      const toolCalls = calls.filter(Boolean).map((c) => ({
        ...(c.id ? { id: c.id } : {}),
        type: "function",
        function: { name: c.name, arguments: c.arguments },
      }));
      return {
        choices: [
          {
            message: { role: "assistant", content, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
            ...(finish ? { finish_reason: finish } : {}),
          },
        ],
        ...(usage ? { usage } : {}),
      };
    },
  };
}

/**
 * Anthropic Messages with `stream: true`: content blocks rebuilt from their start and delta events (tool
 * inputs from their partial JSON), stop_reason and usage from message_start/message_delta.
 * @example const a = anthropicAssembler(); a.event("message_start", '{"message":{"usage":{"input_tokens":3}}}')
 */
export function anthropicAssembler(): StreamAssembler {
  const blocks: Bag[] = [];
  const partial: string[] = [];
  let message: Bag | null = null;
  let stop: unknown;
  let outputTokens: unknown;
  let error: unknown;
  return {
    event(name, data) {
      const ev = bag(parseJson(data));
      const type = str(ev.type) ?? name;
      const i = typeof ev.index === "number" ? ev.index : blocks.length;
      if (type === "message_start") message = bag(ev.message);
      else if (type === "content_block_start") {
        blocks[i] = { ...bag(ev.content_block) };
        partial[i] = "";
      } else if (type === "content_block_delta") {
        const delta = bag(ev.delta);
        const block = (blocks[i] ??= { type: "text", text: "" });
        if (delta.type === "text_delta") block.text = (str(block.text) ?? "") + (str(delta.text) ?? "");
        if (delta.type === "input_json_delta")
          partial[i] = (partial[i] ?? "") + (str(delta.partial_json) ?? "");
      } else if (type === "message_delta") {
        stop = bag(ev.delta).stop_reason;
        outputTokens = bag(ev.usage).output_tokens;
      } else if (type === "error") error = ev.error;
    },
    result() {
      if (!message) return error !== undefined ? { type: "error", error } : {};
      const content = blocks.filter(Boolean).map((b, i) => {
        if (b.type !== "tool_use") return b;
        const text = partial[i] ?? "";
        return { ...b, input: text.trim() === "" ? (b.input ?? {}) : (parseJson(text) ?? text) };
      });
      const usage = bag(message.usage);
      return {
        ...message,
        content,
        ...(stop !== undefined ? { stop_reason: stop } : {}),
        usage: { ...usage, ...(outputTokens !== undefined ? { output_tokens: outputTokens } : {}) },
      };
    },
  };
}
