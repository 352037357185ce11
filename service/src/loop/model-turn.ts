// One model turn of a hosted run, journaled, surviving provider outages: a retryable failure (429, 5xx,
// timeout, connection error, malformed answer — after the provider-level retries) puts the run in a durable
// backoff (status running, `retryAt` in the run, recomputed from the journal after a restart) up to the
// policy's limits; a rejection (401, 400) or an outage past them asks a human. Nothing is kept in memory.
import { makeFailure, type Failure } from "@mend/wire";
import type { LlmMessage, LlmProvider, LlmResponse, LlmTool } from "../llm/llm-provider.ts";
import type { Policy } from "../policy/policy-schema.ts";
import type { RunRecord, StepRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import type { BlobStore } from "../store/blob-store.ts";
import type { RunEvents } from "../engine/run-events.ts";
import { DEFAULT_MAX_ATTEMPTS, type StepLifecycle } from "../engine/step-lifecycle.ts";
import { backoffMs, sleep } from "../lib/retry.ts";
import { anySignal } from "../lib/any-signal.ts";
import { awaitHuman } from "./human-step.ts";
import { keepRequest, type KeptRequest } from "./kept-request.ts";

/** The fields of a model turn that move to the blob store when large (a long answer, big tool arguments). */
const LLM_EXTERNAL_FIELDS = ["content", "toolCalls"] as const;
/** Longest durable backoff between two calls (a provider's Retry-After is honoured up to this). */
export const MAX_LLM_BACKOFF_MS = 5 * 60_000;
/** Prefix of the journaled markers of POST /v1/runs/{id}/resume (a resumed run's outage starts afresh). */
export const RESUME_KEY_PREFIX = "resume-";

/**
 * The durable backoff of a hosted run, kept in the run's `waitingFor` while its status stays `running` (the
 * column holds what the run waits for; the API shows it as `retryAt` / `retrying`, never as a human request).
 */
export interface RetryNote {
  kind: "llm_retry";
  /** The journal key of the call that runs at `retryAt`. */
  stepKey: string;
  retryAt: number;
  since: number;
  attempts: number;
  failure: Failure;
}

/** The backoff note of a run, if it is backing off. */
export function retryNoteOf(run: Pick<RunRecord, "status" | "waitingFor">): RetryNote | null {
  const w = run.waitingFor as Partial<RetryNote> | null;
  return run.status === "running" && w?.kind === "llm_retry" ? (w as RetryNote) : null;
}

export interface ModelTurnDeps {
  store: Store;
  steps: StepLifecycle;
  events: RunEvents;
  /**
   * Where the head of each turn's request (model, system prompt, tools offered) is kept for the inspector;
   * its messages go to the step's audit as a delta of the previous turn (kept-request.ts).
   */
  blobs?: BlobStore;
}

/** Whether the journaled `audit.request` of a step is the delta this driver wrote (not another ending's). */
function sameDelta(journaled: unknown, kept: KeptRequest): boolean {
  const j = journaled as Partial<KeptRequest> | undefined;
  return (
    j?.head?.blob === kept.head.blob &&
    j.base === kept.base &&
    j.keep === kept.keep &&
    j.messages === kept.messages
  );
}

export interface ModelTurnRequest {
  run: RunRecord;
  iteration: number;
  policy: Policy;
  model: { provider: LlmProvider; model: string; temperature?: number };
  system: string;
  messages: LlmMessage[];
  tools: LlmTool[];
  /** Run cancellation or a lost lease. */
  signal: AbortSignal;
  /** Fires when a shutdown's grace is over. */
  shutdown: AbortSignal;
  /** A signal that fires when someone asks the run to call the model now (POST /resume during a backoff). */
  wake(): AbortSignal;
}

export type ModelTurn =
  | { kind: "response"; response: LlmResponse }
  /** Waiting for a human (or failed by policy, still resumable); the driver stops. */
  | { kind: "waiting" }
  /** Cancelled, shutting down or lost the lease: nothing more is journaled. */
  | { kind: "stopped" };

const attemptKey = (i: number, attempt: number) =>
  attempt === 0 ? `iter-${i}/llm` : `iter-${i}/llm/retry-${attempt}`;
const iso = (ms: number) => new Date(ms).toISOString();

/** The failed calls of the current outage window: they decide between backing off and asking a human. */
interface Window {
  /** Failures before this (an answer, a resume) belong to an earlier window. */
  from: number;
  first: number | null;
  steps: number;
  calls: number;
}

/**
 * Asks the model for turn `iteration`, journaled: a finished call replays; failures back off or escalate.
 * @example const t = await modelTurn(deps, { run, iteration: 3, policy, model, system, messages, tools, ... })
 */
export async function modelTurn(d: ModelTurnDeps, r: ModelTurnRequest): Promise<ModelTurn> {
  const { run, iteration: i, policy } = r;
  const rule = policy.remediation.llm_failed;
  let window: Window | null = null;
  for (let attempt = 0; ; attempt++) {
    const key = attemptKey(i, attempt);
    let kept: Awaited<ReturnType<typeof keepRequest>> | undefined;
    const outcome = await d.steps.run(
      {
        runId: run.id,
        key,
        kind: "llm",
        input: { iteration: i, model: r.model.model, messages: r.messages.length, last: r.messages.at(-1) },
        tenant: run.tenant,
        audit: { tenant: run.tenant, policy: policy.name, policyVersion: policy.version },
        externalFields: LLM_EXTERNAL_FIELDS,
        maxAttempts: policy.limits.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        limits: policy.limits,
      },
      async ({ signal: stepSignal }) => {
        kept = d.blobs
          ? await keepRequest(d.blobs, d.store, run.tenant, key, {
              model: r.model.model,
              system: r.system,
              tools: r.tools,
              messages: r.messages,
            })
          : undefined;
        const audit = kept ? { audit: { request: kept.audit } } : {};
        const stop = anySignal([r.signal, stepSignal, r.shutdown]);
        const out = await r.model.provider
          .complete(
            {
              model: r.model.model,
              temperature: r.model.temperature,
              system: r.system,
              messages: r.messages,
              tools: r.tools,
              idempotencyKey: `${run.id}/${key}`,
            },
            stop.signal,
          )
          .finally(() => stop.dispose());
        // Cut short by the shutdown: leave the turn unfinished, it is asked again when the run resumes.
        if (!out.ok && r.shutdown.aborted) return null;
        if (out.ok) {
          const { retries, ...response } = out.response;
          return {
            status: "succeeded",
            output: response as unknown as Record<string, unknown>,
            usage: { ...response.usage, attempts: response.attempts, ...(retries ? { retries } : {}) },
            ...audit,
          };
        }
        return {
          status: "failed",
          output: null,
          failure: out.failure,
          usage: {
            attempts: out.failure.attempts ?? 1,
            ...(out.retries?.length ? { retries: out.retries } : {}),
          },
          ...audit,
        };
      },
    );
    // The next turn's request is kept as a delta of this one only once this one's audit is journaled.
    if (kept && outcome.kind === "ended" && sameDelta(outcome.step.audit?.request, kept.audit)) kept.commit();
    if (outcome.kind === "interrupted" || r.signal.aborted || r.shutdown.aborted) return { kind: "stopped" };
    const step = outcome.step;
    if (step.status === "succeeded") {
      // A backoff note exists only after a failure of this turn (journaled, so also after a restart).
      if (window !== null) await clearNote(d.store, run.id);
      return { kind: "response", response: outcome.output as LlmResponse };
    }
    const failure = step.failure ?? makeFailure("llm_failed", "the model call failed", true);
    if (failure.kind === "interrupted") return { kind: "stopped" };
    window ??= { from: await resumedAt(d.store, run.id), first: null, steps: 0, calls: 0 };
    if ((step.endedAt ?? Date.now()) >= window.from) {
      window.first ??= step.startedAt;
      window.steps++;
      window.calls += failure.attempts ?? 1;
    }
    // A human answered (or /resume ended) this escalation: the outage starts afresh with the next call.
    const askKey = `${key}/ask`;
    const asked = await d.store.getStep(run.id, askKey);
    if (asked?.status === "succeeded") {
      window = { from: asked.endedAt ?? Date.now(), first: null, steps: 0, calls: 0 };
      continue;
    }
    // On replay the next call is journaled already: the decision was made then.
    const next = attemptKey(i, attempt + 1);
    if (!asked && (await d.store.getStep(run.id, next))) continue;
    const elapsed = Date.now() - (window.first ?? Date.now());
    if (
      !asked &&
      rule !== undefined &&
      failure.retryable &&
      window.steps <= rule.retries &&
      elapsed < policy.budgets.outageMs
    ) {
      const waited = await backOff(d, r, step, next, failure, window);
      if (!waited) return { kind: "stopped" };
      continue;
    }
    const request = failure.retryable
      ? outageRequest(run.id, failure, window, policy)
      : rejectedRequest(run.id, failure, window);
    const fail =
      policy.budgets.onExhausted === "fail"
        ? { ...failure, message: String(request.question), retryable: true }
        : undefined;
    const answer = await awaitHuman(d.steps, d.store, d.events, run, askKey, request, fail);
    if (answer === undefined) return { kind: "waiting" };
    window = null;
  }
}

/** Waits out the backoff before call `next` (durably noted in the run); false when stopped meanwhile. */
async function backOff(
  d: ModelTurnDeps,
  r: ModelTurnRequest,
  failed: StepRecord,
  next: string,
  failure: Failure,
  window: Window,
): Promise<boolean> {
  const current = await d.store.getRunById(r.run.id);
  if (!current || current.status !== "running") return false;
  let note = retryNoteOf(current);
  if (note?.stepKey !== next) {
    const rule = r.policy.remediation.llm_failed!;
    const delay = backoffMs(
      { baseMs: rule.backoffMs || 1_000, capMs: MAX_LLM_BACKOFF_MS, jitter: "equal" },
      window.steps,
      failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {},
    );
    note = {
      kind: "llm_retry",
      stepKey: next,
      retryAt: (failed.endedAt ?? Date.now()) + delay,
      since: window.first ?? failed.startedAt,
      attempts: window.calls,
      failure,
    };
    await d.store.updateRun(r.run.id, { waitingFor: note });
    await d.events.publish(r.run.id, "run.retrying", {
      retryAt: iso(note.retryAt),
      since: iso(note.since),
      attempts: note.attempts,
      failure: { kind: failure.kind, message: failure.message },
    });
  }
  await sleep(note.retryAt - Date.now(), AbortSignal.any([r.signal, r.shutdown, r.wake()]));
  return !(r.signal.aborted || r.shutdown.aborted);
}

async function clearNote(store: Store, runId: string): Promise<void> {
  const run = await store.getRunById(runId);
  if (run && retryNoteOf(run)) await store.updateRun(runId, { waitingFor: null });
}

/** When the run was last resumed by hand (0: never): failures before it belong to an earlier outage. */
async function resumedAt(store: Store, runId: string): Promise<number> {
  const steps = await store.listSteps(runId);
  return Math.max(0, ...steps.filter((s) => s.key.startsWith(RESUME_KEY_PREFIX)).map((s) => s.endedAt ?? 0));
}

const calls = (w: Window) =>
  `${w.calls} call${w.calls === 1 ? "" : "s"} in ${w.steps} step${w.steps === 1 ? "" : "s"}`;

/** What a human reads when the provider stays down past the policy's outage budget. */
function outageRequest(runId: string, f: Failure, w: Window, policy: Policy): Record<string, unknown> {
  const since = w.first ?? Date.now();
  return {
    kind: "llm_unavailable",
    question:
      `The model provider has been failing since ${iso(since)} (${calls(w)}; last: ${f.message}), longer than ` +
      `the policy's outage budget (${policy.budgets.outageMs} ms) or its ${policy.remediation.llm_failed?.retries ?? 0} retries. ` +
      `Answer anything (or POST /v1/runs/${runId}/resume) to call it again, or cancel the run.`,
    failure: f,
    since: iso(since),
    attempts: w.calls,
  };
}

/** What a human reads when the provider refuses the request (401, 400, 404): retrying unchanged cannot help. */
function rejectedRequest(runId: string, f: Failure, w: Window): Record<string, unknown> {
  const hint = typeof f.remedy?.hint === "string" ? ` ${f.remedy.hint}` : "";
  return {
    kind: "llm_rejected",
    question:
      `The model provider refused the request (${f.message}).${hint} Fix the cause, then answer anything (or ` +
      `POST /v1/runs/${runId}/resume) to call it again; or cancel the run.`,
    failure: f,
    attempts: w.calls,
  };
}
