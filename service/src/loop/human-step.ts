// The human in the loop: a journaled step that holds a question until POST /v1/runs/{id}/input answers it.
import { makeFailure, type Failure } from "@mend/wire";
import type { LlmMessage } from "../llm/llm-provider.ts";
import type { RunRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import type { RunEvents } from "../engine/run-events.ts";
import type { StepLifecycle } from "../engine/step-lifecycle.ts";

/**
 * The human step `key`: its answer when given; otherwise the run waits (returns undefined) with nothing
 * held in memory — POST /v1/runs/{id}/input (or /resume, with no answer: null) ends the step and starts the
 * driver again. With `fail` (a policy whose budgets say onExhausted: fail) the run fails instead of
 * waiting, the step still open, so /resume can continue it from here.
 * @example const answer = await awaitHuman(steps, store, events, run, "iter-3/call-0", { question: "Which file?" })
 */
export async function awaitHuman(
  steps: StepLifecycle,
  store: Store,
  events: RunEvents,
  run: RunRecord,
  key: string,
  request: Record<string, unknown> | null,
  fail?: Failure,
): Promise<unknown> {
  const existing = await store.getStep(run.id, key);
  if (existing?.status === "succeeded") {
    const opened = await steps.begin({ runId: run.id, key, kind: "human", input: null, tenant: run.tenant });
    return (
      (opened.kind === "replayed" ? (opened.output as { answer?: unknown } | null) : null)?.answer ?? null
    );
  }
  const waitingFor = {
    ...(request ?? (existing?.input as Record<string, unknown> | null) ?? {}),
    stepKey: key,
  };
  // A waiting step stays open (nothing is held in memory): POST /v1/runs/{id}/input ends it.
  if (!existing)
    await steps.begin({ runId: run.id, key, kind: "human", input: waitingFor, tenant: run.tenant });
  if (fail) {
    await events.transition(run.id, { status: "failed", failure: fail, waitingFor }, "run.completed", {
      status: "failed",
      failure: { kind: fail.kind, message: fail.message },
    });
    return undefined;
  }
  await events.transition(
    run.id,
    { status: "waiting_for_input", waitingFor },
    "run.waiting_for_input",
    waitingFor,
  );
  return undefined;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

/** The request shown to a human when a budget is spent: what was tried, what failed, what is needed. */
export function budgetRequest(
  budget: string,
  limit: number,
  messages: LlmMessage[],
): Record<string, unknown> {
  const tried = messages.flatMap((m) =>
    m.role === "assistant" ? (m.toolCalls ?? []).map((c) => c.name) : [],
  );
  const failures = messages
    .filter((m): m is Extract<LlmMessage, { role: "tool" }> => m.role === "tool")
    .map((m) => safeJson(m.content))
    .filter(
      (r): r is { failure: { kind: string; message: string } } =>
        typeof r === "object" && r !== null && "failure" in r,
    )
    .slice(-5)
    .map((r) => ({ kind: r.failure.kind, message: r.failure.message }));
  return {
    kind: "budget_exhausted",
    budget,
    question: `The run spent its ${budget} budget (${limit}) without finishing. What should it do next? Clarify the goal, provide what is missing, or tell it to stop.`,
    tried: [...new Set(tried)],
    recentFailures: failures,
  };
}

/** The run's failure when a budget is spent and the policy says to fail rather than ask. */
export function budgetFailure(budget: string, limit: number): Failure {
  return makeFailure(
    "budget_exhausted",
    `The run spent its ${budget} budget (${limit}) without finishing.`,
    false,
    {
      remedy: { action: "human_input" },
    },
  );
}
