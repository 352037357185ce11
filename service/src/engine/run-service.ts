// Run-level operations (create, read, drive, finish) with their rules; routes only translate HTTP.
import type { CreateRun, ExecutionResponse, ForkRun, InputMismatch, RunStatus, StepAction } from "@mend/wire";
import type { Config } from "../config/config.ts";
import type { PolicyRegistry } from "../policy/policy-registry.ts";
import type { EventRecord, Page, RunOrigin, RunRecord, StepRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import { InvalidCursorError } from "../store/store-errors.ts";
import { FINISHED_RUNS } from "../store/records.ts";
import type { Caller } from "../core/caller.ts";
import type { Executor } from "./executor.ts";
import { Rejection } from "../core/rejection.ts";
import type { RunEvents } from "./run-events.ts";
import type { StepLifecycle } from "./step-lifecycle.ts";
import type { StepOutcome } from "./step-spec.ts";
import type { Release } from "../auth/concurrency-limiter.ts";
import { fromStepAction, type ActionSpec } from "./step-action.ts";
import type { ToolCaller } from "../tools/tool-caller.ts";
import type { ToolDefinition } from "../tools/tool.ts";
import { forkRun } from "./run-fork.ts";
import { assertCreatable, newRunOf } from "./run-create.ts";
import { finishedRun } from "./implicit-run.ts";
import {
  assertCheckpointSize,
  checkpointClaimError,
  checkpointSpec,
  recordedValue,
} from "./run-checkpoint.ts";

export { MAX_CHECKPOINT_BYTES } from "./run-checkpoint.ts";

/** A human answer moves to the blob store when large. */
const HUMAN_EXTERNAL_FIELDS = ["answer"] as const;

const FINISHED = FINISHED_RUNS;

/** What the run service needs of the hosted loop (set once the loop exists). */
export interface HostedDriver {
  start(runId: string): void;
  cancel(runId: string): void;
  /** Cuts a backoff short: the run calls its model again now. */
  wake(runId: string): void;
}

export interface RunServiceDeps {
  store: Store;
  steps: StepLifecycle;
  executor: Executor;
  events: RunEvents;
  policies: PolicyRegistry;
  tools: ToolCaller;
  config: Config;
}

/**
 * Runs as the API sees them, always scoped to the caller's tenant (another tenant's run is "not found").
 * @example const run = await runs.create(who, { mode: "client" })
 */
export class RunService {
  readonly #d: RunServiceDeps;
  #hosted: HostedDriver | null = null;
  /** Client-driven runs with steps in progress in this process. */
  readonly #cancels = new Map<string, { controller: AbortController; steps: number }>();

  constructor(deps: RunServiceDeps) {
    this.#d = deps;
  }

  /** Connects the hosted loop (it depends on the executor, so it is built after this service). */
  attachHostedDriver(driver: HostedDriver): void {
    this.#hosted = driver;
  }

  async create(
    who: Caller,
    body: CreateRun,
    idempotencyKey?: string,
  ): Promise<{ run: RunRecord; created: boolean }> {
    assertCreatable(this.#d.config, who, body);
    const created = await this.#d.store.createRun(newRunOf(who, body, idempotencyKey));
    if (created.run.mode === "hosted" && created.run.status === "running")
      this.#hosted?.start(created.run.id);
    return created;
  }

  /** Forks run `id` at a step (see run-fork.ts); a hosted fork is driven at once. */
  async fork(
    who: Caller,
    id: string,
    body: ForkRun,
    idempotencyKey?: string,
  ): Promise<{ run: RunRecord; created: boolean }> {
    const made = await forkRun(this.#d, who, id, body, idempotencyKey);
    if (made.run.mode === "hosted" && made.run.status === "running") this.#hosted?.start(made.run.id);
    return made;
  }

  async get(who: Caller, id: string): Promise<RunRecord> {
    const run = await this.#d.store.getRun(who.tenant, id);
    if (!run) throw new Rejection("not_found", `run ${id} does not exist`);
    return run;
  }

  async list(
    who: Caller,
    q: { status?: RunStatus; origin?: RunOrigin; limit?: number; cursor?: string; parentRunId?: string },
  ): Promise<Page<RunRecord>> {
    try {
      // Every origin by default (one-off and MCP executions are runs too); `origin` narrows to one.
      return await this.#d.store.listRuns(who.tenant, {
        ...(q.parentRunId !== undefined ? { parentRunId: q.parentRunId } : {}),
        status: q.status,
        limit: q.limit ?? 50,
        cursor: q.cursor,
        includeImplicit: true,
        ...(q.origin ? { origin: q.origin } : {}),
      });
    } catch (e) {
      if (e instanceof InvalidCursorError) throw new Rejection("invalid", e.message);
      throw e;
    }
  }

  async steps(who: Caller, id: string): Promise<StepRecord[]> {
    await this.get(who, id);
    return this.#d.store.listSteps(id);
  }

  /**
   * A client-driven step: executes once per key, replays afterwards. The same key with another input is
   * refused (`input_mismatch`, a non-deterministic caller) unless `onInputMismatch` is `replay`.
   */
  async step(
    who: Caller,
    id: string,
    key: string,
    action: StepAction,
    opts: { onInputMismatch?: InputMismatch } = {},
  ): Promise<ExecutionResponse> {
    const run = await this.get(who, id);
    const onInputMismatch = opts.onInputMismatch ?? "reject";
    const done = await this.#d.store.getStep(id, key);
    if (done && (done.status === "succeeded" || done.status === "failed")) {
      if (onInputMismatch === "reject")
        await this.#d.executor.assertSameInput(who, id, key, fromStepAction(action), done);
      return this.#d.executor.respond(done, true);
    }
    if (run.status !== "running")
      throw new Rejection("conflict", `run ${id} is ${run.status}; it takes no more steps`);
    if (run.mode === "hosted")
      throw new Rejection("conflict", `run ${id} is hosted; the service drives its steps`);
    // Steps in progress share one controller per run, so cancelling the run aborts them.
    let cancel = this.#cancels.get(id);
    if (!cancel) this.#cancels.set(id, (cancel = { controller: new AbortController(), steps: 0 }));
    cancel.steps++;
    try {
      return await this.#d.executor.step(who, run, key, fromStepAction(action), {
        narrowedTo: run.tools ?? undefined,
        signal: cancel.controller.signal,
        onInputMismatch,
        journaled: done,
      });
    } finally {
      if (--cancel.steps === 0) this.#cancels.delete(id);
    }
  }

  /**
   * Where a relayed script (client-hosted tools, /v1/relay) is journaled: step `key` of the caller's
   * client-driven run, or a new implicit run. Client tools may not shadow the service's tools.
   */
  async relayTarget(
    who: Caller,
    q: { runId?: string; key?: string; idempotencyKey?: string; clientTools: string[] },
  ): Promise<{ run: RunRecord; key: string; admitted: Release }> {
    const names = new Set<string>();
    for (const name of q.clientTools) {
      if (names.has(name)) throw new Rejection("invalid", `tool "${name}" is declared twice`);
      names.add(name);
      if (await this.#d.tools.known(who, name)) {
        throw new Rejection(
          "invalid",
          `tool "${name}" is a service tool; client-hosted tools cannot shadow it`,
        );
      }
    }
    let run: RunRecord;
    let key: string;
    if (!q.runId) {
      // Without an Idempotency-Key it cannot be a replay: refused at the limit before anything is created.
      if (!q.idempotencyKey) {
        const admitted = await this.#d.executor.admit(who);
        try {
          return { run: await this.#d.executor.implicitRun(who), key: "execution", admitted };
        } catch (err) {
          admitted();
          throw err;
        }
      }
      run = await this.#d.executor.implicitRun(who, `relay:${q.idempotencyKey}`);
      key = "execution";
    } else {
      run = await this.get(who, q.runId);
      key = q.key ?? "codemode";
      if (run.mode !== "client")
        throw new Rejection("conflict", `run ${run.id} is hosted; relay steps need a client-driven run`);
    }
    const done = await this.#d.store.getStep(run.id, key);
    if (!done && run.status !== "running") throw new Rejection("conflict", `run ${run.id} is ${run.status}`);
    // A finished key replays without a slot; otherwise admitted before the response stream starts, so a
    // tenant at its limit gets a plain 429.
    const finished = done?.status === "succeeded" || done?.status === "failed";
    return { run, key, admitted: finished ? () => {} : await this.#d.executor.admit(who) };
  }

  /** Runs a relayed code-mode step with the client's tools bound; an implicit run ends with it. */
  async relayStep(
    who: Caller,
    run: RunRecord,
    key: string,
    action: ActionSpec,
    clientTools: ToolDefinition[],
    admitted: Release,
  ): Promise<ExecutionResponse> {
    const res = await this.#d.executor.step(who, run, key, action, {
      narrowedTo: run.tools ?? undefined,
      extraTools: clientTools,
      admitted,
      // A relayed step is a step like any other: its key with another script is refused.
      onInputMismatch: "reject",
    });
    if (run.implicit && !res.replayed) {
      await this.#d.store.updateRun(run.id, finishedRun(res));
    }
    return res;
  }

  /**
   * Records checkpoint `key` of a run as a journaled step (kind `checkpoint`, key `checkpoint:<key>`):
   * the first value written wins, so a caller that retries after a lost response — or recomputes after a
   * crash — gets the recorded value back, as with any step. Returns the recorded value.
   */
  async putCheckpoint(who: Caller, id: string, key: string, value: unknown): Promise<unknown> {
    assertCheckpointSize(value);
    // The journal is where the value lives: the step's output (large values in blobs). Claimed and ended in
    // one transaction (the value is known before the claim). The run is checked in that transaction (the
    // caller's, not finished): no read of the run before it, the hot path's costliest statement.
    let outcome: StepOutcome;
    try {
      outcome = await this.#d.steps.record(checkpointSpec(who, id, key), {
        status: "succeeded",
        output: { value: value ?? null },
      });
    } catch (e) {
      throw checkpointClaimError(e, id);
    }
    return recordedValue(outcome, id, key);
  }

  async getCheckpoint(who: Caller, id: string, key: string): Promise<{ value: unknown; createdAt: number }> {
    await this.get(who, id);
    const step = await this.#d.store.getStep(id, `checkpoint:${key}`);
    if (step?.kind === "checkpoint" && step.status === "succeeded") {
      const output = (await this.#d.steps.output(step)) as { value?: unknown } | null;
      return { value: output?.value ?? null, createdAt: step.endedAt ?? step.startedAt };
    }
    // Checkpoints recorded before they were journaled steps live in the key-value table.
    const legacy = step ? null : await this.#d.store.getCheckpoint(id, key);
    if (!legacy) throw new Rejection("not_found", `run ${id} has no checkpoint "${key}"`);
    return legacy;
  }

  async complete(who: Caller, id: string, output: unknown): Promise<RunRecord> {
    const run = await this.get(who, id);
    if (run.mode !== "client")
      throw new Rejection("conflict", `run ${id} is hosted; the service completes it`);
    if (run.status === "succeeded") return run;
    if (FINISHED.has(run.status)) throw new Rejection("conflict", `run ${id} is ${run.status}`);
    return this.#d.events.transition(id, { status: "succeeded", output }, "run.completed", {
      status: "succeeded",
    });
  }

  async cancel(who: Caller, id: string): Promise<RunRecord> {
    const run = await this.get(who, id);
    if (FINISHED.has(run.status)) return run;
    const done = await this.#d.events.transition(
      id,
      { status: "cancelled", waitingFor: null },
      "run.completed",
      { status: "cancelled" },
    );
    this.#hosted?.cancel(id);
    this.#cancels.get(id)?.controller.abort(new Error("run cancelled"));
    return done;
  }

  /**
   * Resumes a run from where it stopped. A failed run takes steps again; a run waiting for a human goes on
   * without an answer (null); a hosted run backing off from a model outage calls its model now. The resume
   * is journaled (a step `resume-<n>`): what came before it (an outage, a spent budget) counts no more.
   * A hosted run is driven again: its journal replays and the step that stopped it runs again.
   */
  async resume(who: Caller, id: string): Promise<RunRecord> {
    const run = await this.get(who, id);
    if (run.status === "succeeded" || run.status === "cancelled") {
      throw new Rejection(
        "conflict",
        `run ${id} is ${run.status}; only a failed, waiting or running run resumes`,
      );
    }
    const backingOff = (run.waitingFor as { kind?: unknown } | null)?.kind === "llm_retry";
    if (run.status === "running" && !backingOff) {
      if (run.mode === "hosted") this.#hosted?.start(id);
      return run;
    }
    const n = (await this.#d.store.listSteps(id)).filter((s) => s.key.startsWith("resume-")).length + 1;
    await this.#d.steps.run(
      {
        runId: id,
        key: `resume-${n}`,
        kind: "human",
        input: { kind: "resume", status: run.status, ...(run.failure ? { failure: run.failure } : {}) },
        tenant: who.tenant,
        audit: { tenant: who.tenant, keyId: who.keyId, policy: who.policy.name },
      },
      () => Promise.resolve({ status: "succeeded", output: { resumed: true } }),
    );
    // A run stopped at a human step (waiting, or failed by policy with the step open): the resume answers it.
    const key = (run.waitingFor as { stepKey?: string } | null)?.stepKey;
    const open = key && run.status !== "running" ? await this.#d.store.getStep(id, key) : null;
    if (open && open.status !== "succeeded") {
      await this.#d.steps.end(
        { runId: id, tenant: who.tenant, externalFields: HUMAN_EXTERNAL_FIELDS },
        open,
        { status: "succeeded", output: { answer: null, resumed: true } },
      );
    }
    const resumed =
      run.status === "running"
        ? run
        : await this.#d.store.updateRun(id, { status: "running", failure: null, waitingFor: null });
    if (resumed.mode === "hosted") {
      this.#hosted?.wake(id);
      this.#hosted?.start(id);
    }
    return resumed;
  }

  /** Answers a run waiting for a human: ends the waiting step with the answer and resumes the run. */
  async input(who: Caller, id: string, input: unknown): Promise<RunRecord> {
    const run = await this.get(who, id);
    if (run.status !== "waiting_for_input")
      throw new Rejection("conflict", `run ${id} is ${run.status}, not waiting_for_input`);
    const key = (run.waitingFor as { stepKey?: string } | null)?.stepKey;
    const step = key ? await this.#d.store.getStep(id, key) : null;
    if (!step) throw new Rejection("conflict", `run ${id} has no open human step`);
    if (step.status !== "succeeded") {
      await this.#d.steps.end(
        { runId: id, tenant: who.tenant, externalFields: HUMAN_EXTERNAL_FIELDS },
        step,
        {
          status: "succeeded",
          output: { answer: input },
        },
      );
    }
    const resumed = await this.#d.store.updateRun(id, { status: "running", waitingFor: null });
    if (resumed.mode === "hosted") this.#hosted?.start(id);
    return resumed;
  }

  async eventsAfter(who: Caller, id: string, afterId: number): Promise<EventRecord[]> {
    await this.get(who, id);
    return this.#d.store.listEvents(id, afterId);
  }
}
