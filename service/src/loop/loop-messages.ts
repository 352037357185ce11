// What the hosted loop itself tells the model: calls of a turn it did not run, replies that took no action,
// and a human's answer after a budget ran out.
import { renderLoopError } from "./render-result.ts";
import type { CallOutcome } from "./model-call.ts";

/** Calls of one model turn that run (concurrently); more are answered with an error. */
export const MAX_CALLS_PER_TURN = 8;

/**
 * The answer to an ask_human of a turn that also calls finish: a finishing turn asks no human.
 * @example notAskedOutcome().content // '{"status":"failed","error":"not_asked",...}'
 */
export function notAskedOutcome(): CallOutcome {
  return {
    failed: false,
    content: renderLoopError("not_asked", "finish was called in the same turn"),
  };
}

/**
 * The answer to a call past MAX_CALLS_PER_TURN of one turn: it is never run, the model may ask again.
 * @example tooManyCallsOutcome().failed // true
 */
export function tooManyCallsOutcome(): CallOutcome {
  return {
    failed: true,
    content: renderLoopError(
      "too_many_calls",
      `at most ${MAX_CALLS_PER_TURN} calls run per turn; this one was not run — ask for it again`,
    ),
  };
}

/**
 * The user message after a reply with no tool call (text only, or nothing at all).
 * @example noActionMessage("") // '{"status":"failed","error":"empty_answer",...}'
 */
export function noActionMessage(content: string | null): string {
  return renderLoopError(
    content ? "no_action" : "empty_answer",
    content
      ? "You replied with text but took no action. Call a tool, or finish(answer) to end the run."
      : "Your reply was empty. Call a tool, or finish(answer) to end the run.",
  );
}

/**
 * The user message that continues a run after its budget escalation: the human's answer, or null for a
 * plain POST /resume.
 * @example budgetAnswerMessage("tokens", "go on") // "A human answered after the tokens budget ran out: go on"
 */
export function budgetAnswerMessage(budgetName: string, answer: unknown): string {
  return answer === null
    ? `The run was resumed after the ${budgetName} budget ran out; continue towards the goal.`
    : `A human answered after the ${budgetName} budget ran out: ${stringify(answer)}`;
}

function stringify(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}
