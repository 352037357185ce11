// One model-chosen call of a hosted run: finish, a human question, or an action run as journaled steps that
// are healed by policy before the model sees their failure.
import type { ExecutionResponse, Failure, StepAction } from "@mend/wire";
import type { LlmToolCall } from "../llm/llm-provider.ts";
import type { RunRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import type { Caller } from "../core/caller.ts";
import type { Executor } from "../engine/executor.ts";
import type { StepLifecycle } from "../engine/step-lifecycle.ts";
import type { RunEvents } from "../engine/run-events.ts";
import { fromStepAction, type ActionSpec } from "../engine/step-action.ts";
import { parseCall } from "./parse-call.ts";
import { Rejection } from "../core/rejection.ts";
import { nextRemediation } from "./remediate.ts";
import { telemetry } from "../lib/telemetry.ts";
import { awaitHuman } from "./human-step.ts";
import { sleep } from "../lib/retry.ts";
import { renderExecution, renderLoopError } from "./render-result.ts";

/** What one model-chosen call produced for the conversation. */
export interface CallOutcome {
  content: string;
  failed: boolean;
  finish?: { answer: unknown };
  waiting?: boolean;
}

export interface CallDeps {
  store: Store;
  steps: StepLifecycle;
  executor: Executor;
  events: RunEvents;
}

/** What a call needs of the loop that runs it: its services, and whether (and how hard) it is stopping. */
export interface CallContext {
  deps: CallDeps;
  /** True once the loop is stopping: a heal in progress attempts nothing more. */
  stopped(): boolean;
  /** Fires when a shutdown's grace is over: backoff sleeps between attempts give up. */
  shutdown: AbortSignal;
}

/**
 * Executes one model-chosen call as journaled step(s), healing by policy before the model sees a failure.
 * @example const outcome = await runCall(ctx, who, run, 3, 0, { id: "c1", name: "finish", argumentsJson: '{"answer":42}' }, signal)
 */
export async function runCall(
  ctx: CallContext,
  who: Caller,
  run: RunRecord,
  i: number,
  j: number,
  call: LlmToolCall,
  signal: AbortSignal,
): Promise<CallOutcome> {
  const key = `iter-${i}/call-${j}`;
  const parsed = parseCall(call);
  switch (parsed.kind) {
    case "invalid":
      return { failed: true, content: parsed.content };
    case "finish":
      return {
        failed: false,
        content: JSON.stringify({ status: "succeeded" }),
        finish: { answer: parsed.answer },
      };
    case "ask_human": {
      const answer = await awaitHuman(ctx.deps.steps, ctx.deps.store, ctx.deps.events, run, key, {
        question: parsed.question,
        kind: "ask_human",
      });
      if (answer === undefined) return { failed: false, waiting: true, content: "" };
      return { failed: false, content: JSON.stringify({ status: "succeeded", answer }) };
    }
    case "action":
      try {
        return await executeHealed(ctx, who, run, key, parsed.action, signal);
      } catch (err) {
        // A request the engine refuses (e.g. a file path with "..") is the model's mistake, shown to it.
        if (err instanceof Rejection)
          return { failed: true, content: renderLoopError("invalid_request", err.message, err.details) };
        throw err;
      }
  }
}

/**
 * Runs an action at `key`, then its remediations (`key/retry-N`) while the policy has one for the failure.
 * @example const outcome = await executeHealed(ctx, who, run, "iter-2/call-1", { type: "container", ... }, signal)
 */
export async function executeHealed(
  ctx: CallContext,
  who: Caller,
  run: RunRecord,
  key: string,
  first: ActionSpec,
  signal: AbortSignal,
): Promise<CallOutcome> {
  const { executor, store, events } = ctx.deps;
  // The loop has nobody to answer a 429: at the tenant's concurrency limit its steps wait for a slot.
  const opts = { narrowedTo: run.tools ?? undefined, signal, admission: "wait" as const };
  // A fork's edited step runs its new action instead of the one the model asked for at that key.
  const edited = (k: string, a: ActionSpec): ActionSpec =>
    run.forkReplace?.key === k ? fromStepAction(run.forkReplace.input as StepAction) : a;
  let action = edited(key, first);
  let res: ExecutionResponse = await executor.step(who, run, key, action, opts);
  const healed: Failure[] = [];
  for (let attempt = 1; res.failure && !signal.aborted && !ctx.stopped(); attempt++) {
    const next = nextRemediation(who.policy, action, res.failure, attempt, res.stepSeq ?? 0);
    if (!next) break;
    // On replay the retry is already journaled: no second event, no second wait.
    if (!(await store.getStep(run.id, `${key}/retry-${attempt}`))) {
      await events.publish(run.id, "remediation", {
        ...next.record,
        key,
        failure: { kind: res.failure.kind, message: res.failure.message },
      });
      await sleep(next.delayMs, AbortSignal.any([signal, ctx.shutdown]));
    }
    healed.push(res.failure);
    action = edited(`${key}/retry-${attempt}`, next.action);
    const remediated = res.failure.kind;
    res = await executor.step(who, run, `${key}/retry-${attempt}`, action, {
      ...opts,
      remediation: next.record,
    });
    if (!res.replayed) telemetry().remediation(remediated, res.status === "succeeded" ? "healed" : "failed");
  }
  return {
    failed: res.status === "failed",
    content: renderExecution(res, res.status === "succeeded" ? healed : []),
  };
}
