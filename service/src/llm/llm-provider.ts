// The model interface of the hosted loop: one chat turn with tool calling, provider-neutral.
import type { Failure } from "@mend/wire";
import type { RetryInfo } from "./retry.ts";

/** A tool offered to the model (structured call). */
export interface LlmTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export interface LlmToolCall {
  /** Provider's id of the call; echoed back in the tool message. */
  id: string;
  name: string;
  /** Raw JSON text of the arguments, as the model produced it (may be malformed: the loop checks). */
  argumentsJson: string;
}

export type LlmMessage =
  | { role: "user"; content: string }
  | { role: "assistant"; content: string | null; toolCalls?: LlmToolCall[] }
  | { role: "tool"; toolCallId: string; name: string; content: string };

export interface LlmRequest {
  model: string;
  temperature?: number;
  system: string;
  messages: LlmMessage[];
  tools: LlmTool[];
  maxOutputTokens?: number;
  /** Sent as Idempotency-Key / request id where the provider supports it. */
  idempotencyKey?: string;
}

export interface LlmResponse {
  content: string | null;
  toolCalls: LlmToolCall[];
  usage: { inputTokens: number; outputTokens: number };
  finishReason: string;
  /** Attempts it took (retries on 429/5xx/connection errors). */
  attempts: number;
  /** The attempts that failed and were retried before this answer (status, reason, Retry-After, wait). */
  retries?: RetryInfo[];
}

/**
 * One turn's outcome: a response, or llm_failed after the retries (never a throw for provider faults);
 * `retries` are the provider-level retries that came before the failure.
 */
export type LlmOutcome =
  { ok: true; response: LlmResponse } | { ok: false; failure: Failure; retries?: RetryInfo[] };

export interface LlmProvider {
  readonly name: "openai" | "anthropic";
  complete(request: LlmRequest, signal?: AbortSignal): Promise<LlmOutcome>;
}
