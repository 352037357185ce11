// The vocabulary of fake-LLM scripts: what a scripted turn is, and builders for the common ones.

/** A tool call the fake model makes; `arguments` is an object (sent as JSON) or raw text (sent as is). */
export interface FakeToolCall {
  /** Our tool name (`github.search`, `run_code`); the fake encodes it as the provider would see it. */
  name: string;
  arguments: unknown;
  /** Defaults to `call_<turn>_<index>`. */
  id?: string;
}

/** A normal answer: text and/or tool calls. */
export interface ReplyTurn {
  content?: string | null;
  toolCalls?: FakeToolCall[];
  finishReason?: string;
  usage?: { promptTokens?: number; completionTokens?: number };
  /** Extra latency for this turn, on top of the server's latencyMs. */
  delayMs?: number;
}

/** An HTTP error, e.g. 500, or 429 with a Retry-After (seconds or an HTTP date). */
export interface ErrorTurn {
  status: number;
  retryAfter?: number | string;
  body?: string;
  delayMs?: number;
}

/** A raw body (e.g. malformed JSON) with status 200 unless given. */
export interface RawTurn {
  raw: string;
  status?: number;
  delayMs?: number;
}

/** Never answers (until the client gives up): for timeout tests. */
export interface HangTurn {
  hang: true;
}

/** Sends a 200 with streaming headers, then nothing (until the client gives up): for stall tests. */
export interface StallTurn {
  stall: true;
}

export type Turn = ReplyTurn | ErrorTurn | RawTurn | HangTurn | StallTurn;

/**
 * A turn calling one tool (structured call).
 * @example callTool("github.search", { q: "mend" })
 */
export function callTool(name: string, args: unknown): ReplyTurn {
  return { toolCalls: [{ name, arguments: args }] };
}

/**
 * The `run_orchestration` action: code-mode JavaScript (or Python) with the run's tools.
 * @example runOrchestration("return await tools.echo({ text: 'hi' })")
 * @example runOrchestration("tools.echo(text='hi')['text']", "python")
 */
export function runOrchestration(code: string, language?: "javascript" | "python"): ReplyTurn {
  return callTool("run_orchestration", language === undefined ? { code } : { code, language });
}

/** Limits the model may ask `run_code` for. */
export interface FakeLimits {
  memoryMb?: number;
  timeoutMs?: number;
  cpus?: number;
  diskMb?: number;
  pids?: number;
}

/**
 * The `run_code` action: code in a container image.
 * @example runCode("python", "print(6 * 7)", { memoryMb: 64 })
 */
export function runCode(image: string, code: string, limits?: FakeLimits): ReplyTurn {
  return callTool("run_code", limits ? { image, code, limits } : { image, code });
}

/**
 * The `ask_human` action.
 * @example askHuman("Which region should I deploy to?")
 */
export function askHuman(question: string): ReplyTurn {
  return callTool("ask_human", { question });
}

/**
 * The `finish` action.
 * @example finish("42")
 */
export function finish(answer: string): ReplyTurn {
  return callTool("finish", { answer });
}

/**
 * Several tool calls in one model turn (the loop runs them concurrently).
 * @example together(callTool("kv.get", { key: "a" }), callTool("kv.get", { key: "b" }))
 */
export function together(...turns: ReplyTurn[]): ReplyTurn {
  return { toolCalls: turns.flatMap((t) => t.toolCalls ?? []) };
}

/**
 * A text-only answer, no tool call.
 * @example say("I think I am done")
 */
export function say(content: string): ReplyTurn {
  return { content };
}

/**
 * A tool call whose arguments are not valid JSON (cut off mid-object).
 * @example malformed() // run_code with arguments '{"image": "python", "code": "print(1)'
 */
export function malformed(name = "run_code"): ReplyTurn {
  return { toolCalls: [{ name, arguments: '{"image": "python", "code": "print(1)' }] };
}

/**
 * A call to an action the loop never offered.
 * @example unknownAction("launch_rockets")
 */
export function unknownAction(name = "launch_rockets"): ReplyTurn {
  return callTool(name, { target: "moon" });
}

/**
 * An empty answer: no text, no tool call.
 * @example empty()
 */
export function empty(): ReplyTurn {
  return { content: "" };
}

/**
 * An HTTP error turn.
 * @example httpError(429, 1) // 429 with Retry-After: 1
 */
export function httpError(status: number, retryAfter?: number | string): ErrorTurn {
  return retryAfter === undefined ? { status } : { status, retryAfter };
}

/**
 * A 200 whose body is not a chat completion.
 * @example rawBody("{not json")
 */
export function rawBody(raw: string, status?: number): RawTurn {
  return status === undefined ? { raw } : { raw, status };
}

/**
 * A turn that never answers.
 * @example hang()
 */
export function hang(): HangTurn {
  return { hang: true };
}

/**
 * A turn that answers 200 with `text/event-stream` headers and then sends nothing more.
 * @example stall()
 */
export function stall(): StallTurn {
  return { stall: true };
}
