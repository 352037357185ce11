// Keeps a long conversation inside the context budget without ever hiding a failure from the model.
import type { LlmMessage } from "../llm/llm-provider.ts";

/** Rough context budget in characters (~4 characters a token). */
export const CONTEXT_BUDGET_CHARS = 200_000;
/** The most recent tool results are never compacted. */
const KEEP_RECENT = 8;

/** Each message's size, once (messages are never changed in place: compaction replaces the object). */
const sizes = new WeakMap<LlmMessage, number>();
const size = (m: LlmMessage) => {
  let n = sizes.get(m);
  if (n === undefined) {
    n = (m.content?.length ?? 0) + (m.role === "assistant" ? JSON.stringify(m.toolCalls ?? []).length : 0);
    sizes.set(m, n);
  }
  return n;
};

/** A tool result reduced to its status and failure (kind, message), with a pointer to the journal. */
function summarise(content: string): string {
  try {
    const r = JSON.parse(content) as {
      status?: string;
      failure?: { kind: string; message: string };
      error?: string;
      message?: string;
    };
    return JSON.stringify({
      status: r.status,
      ...(r.failure ? { failure: { kind: r.failure.kind, message: r.failure.message } } : {}),
      ...(r.error ? { error: r.error, message: r.message } : {}),
      elided: `output of ${content.length} characters elided to fit the context; it is kept in the run's journal`,
    });
  } catch {
    return JSON.stringify({ elided: `output of ${content.length} characters elided to fit the context` });
  }
}

/**
 * Replaces the oldest large tool outputs by summaries, in place, until the history fits the budget.
 * @example compactHistory(messages) // mutates messages
 */
export function compactHistory(messages: LlmMessage[], budgetChars = CONTEXT_BUDGET_CHARS): void {
  let total = messages.reduce((n, m) => n + size(m), 0);
  const toolIdx = messages.flatMap((m, i) => (m.role === "tool" ? [i] : []));
  for (const i of toolIdx.slice(0, Math.max(0, toolIdx.length - KEEP_RECENT))) {
    if (total <= budgetChars) return;
    const m = messages[i];
    if (m?.role !== "tool" || m.content.length < 400) continue;
    const short = summarise(m.content);
    total -= m.content.length - short.length;
    messages[i] = { ...m, content: short };
  }
}
