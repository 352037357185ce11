// The hosted agent loop: asks the model for actions, runs them as journaled steps, heals failures by policy,
// escalates to a human, and replays its own journal to resume after a crash.
import { makeFailure, type Failure } from "@mend/wire";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import type { LlmMessage, LlmProvider } from "../llm/llm-provider.ts";
import type { PolicyRegistry } from "../policy/policy-registry.ts";
import type { RunRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import type { BlobStore } from "../store/blob-store.ts";
import type { ToolCaller } from "../tools/tool-caller.ts";
import type { Caller } from "../core/caller.ts";
import type { Executor } from "../engine/executor.ts";
import type { StepLifecycle } from "../engine/step-lifecycle.ts";
import type { RunEvents } from "../engine/run-events.ts";
import { ASK_HUMAN, FINISH } from "./loop-actions.ts";
import { QuotaExceededError } from "../store/store-errors.ts";
import { quotaFailure } from "../engine/tenant-quotas.ts";
import { exhausted, type BudgetState } from "./loop-budget.ts";
import { goalMessage } from "./loop-prompt.ts";
import { compactHistory } from "./compact-history.ts";
import { awaitHuman, budgetFailure, budgetRequest } from "./human-step.ts";
import { modelTurn } from "./model-turn.ts";
import type { Replica } from "../engine/replica.ts";
import { FencedError } from "../store/store-errors.ts";
import { SWEEP_BATCH, SWEEP_MS, ownerDead } from "./run-lease.ts";
import { runCall, type CallContext } from "./model-call.ts";
import {
  MAX_CALLS_PER_TURN,
  budgetAnswerMessage,
  noActionMessage,
  notAskedOutcome,
  tooManyCallsOutcome,
} from "./loop-messages.ts";
import { runPrompt } from "./run-prompt.ts";

export interface HostedLoopDeps {
  store: Store;
  steps: StepLifecycle;
  executor: Executor;
  events: RunEvents;
  tools: ToolCaller;
  policies: PolicyRegistry;
  config: Config;
  log: Logger;
  /** Keeps each model turn's whole request for the inspector (see model-turn.ts). */
  blobs?: BlobStore;
  /** This process as a replica: its id owns the leases, its heartbeat renews them. */
  replica: Replica;
  /** The model of a run (env config merged with the run's `model`), or null when none is configured. */
  modelFor(run: RunRecord): { provider: LlmProvider; model: string; temperature?: number } | null;
}

/**
 * Drives hosted runs. One driver per run per process, guarded across processes by a lease.
 * @example loop.start(run.id); await loop.resumeAll(); await loop.stop()
 */
export class HostedLoop {
  readonly #d: HostedLoopDeps;
  readonly #owner: string;
  #sweeper: NodeJS.Timeout | null = null;
  #sweeping = false;
  readonly #driving = new Map<string, { abort: AbortController; done: Promise<void> }>();
  #stopped = false;
  /** Fires when a shutdown's grace is over: model calls and backoff sleeps still in progress give up. */
  readonly #shutdown = new AbortController();
  /** Runs answered (human input) while their driver was still finishing a turn: started again after it. */
  readonly #restart = new Set<string>();
  /** Backoff sleeps of runs waiting out a model outage, cut short by `wake` (POST /resume). */
  readonly #wakers = new Map<string, AbortController>();
  /** What each model-chosen call of this loop's runs is given (see model-call.ts). */
  readonly #calls: CallContext;

  constructor(deps: HostedLoopDeps) {
    this.#d = deps;
    this.#owner = deps.replica.id;
    this.#calls = { deps, stopped: () => this.#stopped, shutdown: this.#shutdown.signal };
  }

  /** Starts driving a run in the background; if it is driven here already, drives it once more afterwards. */
  start(runId: string): void {
    if (this.#stopped) return;
    if (this.#driving.has(runId)) {
      this.#restart.add(runId);
      return;
    }
    const abort = new AbortController();
    const done = this.#drive(runId, abort.signal)
      .catch((err: unknown) => this.#d.log.error({ err, runId }, "hosted run driver crashed"))
      .finally(() => {
        this.#driving.delete(runId);
        this.#wakers.delete(runId);
        if (this.#restart.delete(runId)) this.start(runId);
      });
    this.#driving.set(runId, { abort, done });
  }

  /**
   * Resumes every hosted run left `running` (start-up after a crash or a deploy), then keeps looking
   * periodically for runs whose driver died elsewhere (their lease expires).
   */
  async resumeAll(): Promise<number> {
    const runs = (await this.#d.store.runsByStatus("running")).filter((r) => r.mode === "hosted");
    // Only runs nobody drives here: start() on a driven run means "run it again after this turn".
    for (const r of runs) if (!this.#driving.has(r.id)) this.start(r.id);
    if (!this.#sweeper && !this.#stopped) {
      this.#sweeper = setInterval(() => void this.#sweep(), SWEEP_MS);
      this.#sweeper.unref();
    }
    return runs.length;
  }

  /** Starts the hosted runs whose lease is free or lapsed; the lease decides which replica drives each. */
  async #sweep(): Promise<void> {
    if (this.#sweeping || this.#stopped) return;
    this.#sweeping = true;
    try {
      for (const id of await this.#d.store.unleasedRuns(SWEEP_BATCH))
        if (!this.#driving.has(id)) this.start(id);
    } catch (err) {
      this.#d.log.warn({ err: (err as Error).message }, "hosted-run sweep failed");
    } finally {
      this.#sweeping = false;
    }
  }

  /** Ends a run's backoff sleep now (POST /v1/runs/{id}/resume during a model outage): the model is called again. */
  wake(runId: string): void {
    this.#wakers.get(runId)?.abort();
    this.#wakers.delete(runId);
  }

  #wakeSignal(runId: string): AbortSignal {
    let c = this.#wakers.get(runId);
    if (!c) this.#wakers.set(runId, (c = new AbortController()));
    return c.signal;
  }

  /** Stops a run's driver between steps and aborts its running step (run cancellation). */
  cancel(runId: string): void {
    this.#driving.get(runId)?.abort.abort(new Error("run cancelled"));
  }

  /**
   * Stops every driver at its next step boundary (shutdown); in-flight steps finish or are interrupted by the
   * shutdown grace, and the runs stay `running` to resume at the next start. Nothing is journaled as cancelled.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopped = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    // Handed over now, not at the next step boundary: another replica's driver waits for the step running
    // here (it is still this replica's) and replays its end; this driver's next write is fenced out.
    await Promise.allSettled(
      [...this.#driving.keys()].map((id) => this.#d.store.releaseLease(id, this.#owner)),
    );
    const all = Promise.allSettled([...this.#driving.values()].map((d) => d.done));
    const timer = setTimeout(() => this.#shutdown.abort(new Error("service stopping")), graceMs);
    await all;
    clearTimeout(timer);
  }

  get activeRuns(): number {
    return this.#driving.size;
  }

  async #drive(runId: string, signal: AbortSignal): Promise<void> {
    const { store, log } = this.#d;
    const run = await store.getRunById(runId);
    const dead =
      run?.leaseOwner && run.leaseOwner !== this.#owner && ownerDead(run.leaseOwner)
        ? run.leaseOwner
        : undefined;
    if (this.#stopped || !(await store.acquireLease(runId, this.#owner, this.#d.replica.ttlMs, dead))) return;
    // The replica heartbeat renews the lease; every claim and run update of this driver is fenced by it, so
    // a driver that lost the run (paused past the TTL, shutting down) writes nothing more.
    this.#d.steps.holdLease(runId, this.#owner);
    try {
      await this.#loop(runId, signal);
    } catch (err) {
      if (err instanceof QuotaExceededError) {
        // A step past the tenant's quota: the run ends with that failure (its final status is never refused).
        await this.#finishRun(runId, "failed", null, quotaFailure(err.quota));
      } else if (err instanceof FencedError) {
        log.info({ runId, owner: this.#owner }, "hosted run's lease lost; its new driver continues it");
      } else if (!signal.aborted) {
        log.error({ err, runId }, "hosted run failed on a host fault");
        await this.#finishRun(
          runId,
          "failed",
          null,
          makeFailure("interrupted", `host fault: ${(err as Error).message}`, true),
        );
      }
    } finally {
      this.#d.steps.dropLease(runId, this.#owner);
      await store.releaseLease(runId, this.#owner).catch(() => undefined);
    }
  }

  async #loop(runId: string, signal: AbortSignal): Promise<void> {
    const { store, policies } = this.#d;
    const initial = await this.#currentRun(runId);
    if (!initial || initial.status !== "running") return;
    const policy = policies.get(initial.policy ?? "default");
    if (!policy) {
      // Never fall back to a broader policy than the one the run was created under.
      const message = `the run's policy "${initial.policy}" is no longer loaded; restore policies/${initial.policy}.yaml and send SIGHUP`;
      await this.#finishRun(
        runId,
        "failed",
        null,
        makeFailure("policy_violation", message, false, { rule: "policy" }),
      );
      return;
    }
    const who: Caller = { tenant: initial.tenant, keyId: null, policy };
    const model = this.#d.modelFor(initial);
    if (!model) {
      await this.#finishRun(
        runId,
        "failed",
        null,
        makeFailure("llm_failed", "no LLM provider is configured", false),
      );
      return;
    }
    const { system, tools: offered } = await runPrompt(this.#d.tools, who, initial.tools ?? undefined);
    const messages: LlmMessage[] = [{ role: "user", content: goalMessage(initial.goal ?? "") }];
    const budget: BudgetState = { iterations: 0, consecutiveFailures: 0, tokens: 0 };
    // The keys journaled before this driver started (a restart, a takeover, a fork's copy): only those can be
    // found recorded at an iteration's start; later ones are this driver's own writes (the lease keeps it
    // the run's only writer). One read per driver instead of two per turn.
    const journaled = new Set((await store.listSteps(runId)).map((s) => s.key));
    const recorded = (key: string) => (journaled.has(key) ? store.getStep(runId, key) : null);

    for (let i = 1; ; i++) {
      const run = await this.#currentRun(runId);
      if (!run || run.status !== "running" || signal.aborted || this.#stopped) return;

      // A budget escalation recorded at this iteration replays as it happened.
      const budgetKey = `iter-${i}/budget`;
      const recordedBudget = await recorded(budgetKey);
      const recordedTurn = await recorded(`iter-${i}/llm`);
      const spent =
        recordedBudget || recordedTurn ? null : exhausted(policy, budget, run.createdAt, Date.now());
      if (recordedBudget || spent) {
        const request = spent ? budgetRequest(spent.budget, spent.limit, messages) : null;
        // onExhausted: fail — the run fails with the step open, so POST /resume continues it from here.
        const fail =
          !recordedBudget && spent && policy.budgets.onExhausted === "fail"
            ? budgetFailure(spent.budget, spent.limit)
            : undefined;
        const answer = await awaitHuman(
          this.#d.steps,
          this.#d.store,
          this.#d.events,
          run,
          budgetKey,
          request,
          fail,
        );
        if (answer === undefined) return;
        const budgetName =
          spent?.budget ?? (recordedBudget?.input as { budget?: string } | null)?.budget ?? "budget";
        messages.push({ role: "user", content: budgetAnswerMessage(budgetName, answer) });
        budget.iterations = 0;
        budget.consecutiveFailures = 0;
      }

      const turn = await modelTurn(this.#d, {
        run,
        iteration: i,
        policy,
        model,
        system,
        messages,
        tools: offered,
        signal,
        shutdown: this.#shutdown.signal,
        wake: () => this.#wakeSignal(runId),
      });
      // Waiting for a human (a refused request, an outage past the policy's budget), or stopped.
      if (turn.kind !== "response") return;
      const response = turn.response;
      budget.iterations++;
      budget.tokens += response.usage.inputTokens + response.usage.outputTokens;
      // A replayed turn (a takeover, a restart) has its count already: no write per replayed turn.
      if (run.iterations < i) await store.updateRun(runId, { iterations: i }, { leaseOwner: this.#owner });
      messages.push({
        role: "assistant",
        content: response.content,
        ...(response.toolCalls.length ? { toolCalls: response.toolCalls } : {}),
      });

      if (response.toolCalls.length === 0) {
        budget.consecutiveFailures++;
        messages.push({ role: "user", content: noActionMessage(response.content) });
        continue;
      }

      // A turn runs at most MAX_CALLS_PER_TURN calls; the rest are answered with an error, never run.
      // A turn that finishes the run asks no human.
      const finishing = response.toolCalls.some((c) => c.name === FINISH);
      const outcomes = await Promise.all(
        response.toolCalls.map((call, j) =>
          finishing && call.name === ASK_HUMAN
            ? Promise.resolve(notAskedOutcome())
            : j < MAX_CALLS_PER_TURN
              ? runCall(this.#calls, who, run, i, j, call, signal)
              : Promise.resolve(tooManyCallsOutcome()),
        ),
      );
      // Stopping or cancelled mid-turn: leave the rest to the replay (or to nobody), journal nothing more.
      if (this.#stopped || signal.aborted) return;
      response.toolCalls.forEach((call, j) =>
        messages.push({ role: "tool", toolCallId: call.id, name: call.name, content: outcomes[j]!.content }),
      );
      budget.consecutiveFailures = outcomes.every((o) => o.failed) ? budget.consecutiveFailures + 1 : 0;
      const finish = outcomes.find((o) => o.finish);
      if (finish?.finish) {
        await this.#finishRun(runId, "succeeded", finish.finish.answer, null);
        return;
      }
      if (outcomes.some((o) => o.waiting)) return;
      compactHistory(messages);
    }
  }

  async #currentRun(runId: string): Promise<RunRecord | null> {
    return this.#d.store.getRunById(runId);
  }

  async #finishRun(
    runId: string,
    status: "succeeded" | "failed",
    output: unknown,
    failure: Failure | null,
  ): Promise<void> {
    const run = await this.#currentRun(runId);
    if (!run || run.status !== "running") return;
    await this.#d.events.transition(
      runId,
      { status, output, failure, waitingFor: null },
      "run.completed",
      { status, ...(failure ? { failure: { kind: failure.kind, message: failure.message } } : {}) },
      this.#owner,
    );
  }
}
