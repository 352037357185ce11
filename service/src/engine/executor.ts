// The durable core: every execution is a journaled step — claimed, run once, recorded, replayed thereafter.
import type { ExecutionRequest, ExecutionResponse } from "@mend/wire";
import type { CodeModeEngines, ContainerFile, ContainerRunner } from "@mend/sandboxes";
import type { BlobStore } from "../store/blob-store.ts";
import type { RunRecord, StepRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import type { ToolCaller } from "../tools/tool-caller.ts";
import type { Logger } from "../log/logger.ts";
import type { Caller } from "../core/caller.ts";
import type { Crashpoints } from "./crashpoint.ts";
import type { Admission } from "./admission.ts";
import type { Release } from "../auth/concurrency-limiter.ts";
import { Rejection } from "../core/rejection.ts";
import type { Determinism } from "./run-codemode.ts";
import { fromExecution, type ActionSpec } from "./step-action.ts";
import type { StepContext } from "./step-context.ts";
import { EXECUTION_EXTERNAL_FIELDS, type StepOutput } from "./step-output.ts";
import type { StepLifecycle } from "./step-lifecycle.ts";
import { DEFAULT_MAX_ATTEMPTS, type StepEnding } from "./step-spec.ts";
import { checkRemedy } from "./check-remedy.ts";
import { resolveInputFiles } from "./input-files.ts";
import { anySignal } from "../lib/any-signal.ts";
import type { StepOptions } from "./step-options.ts";
import { inputHash, inputMismatch, journalInput, seedFor } from "./execution-input.ts";
import { composeResponse, respondStep } from "./execution-response.ts";
import { endedRun, finishedRun, newImplicitRun, type ImplicitRun } from "./implicit-run.ts";
import { executeTraced } from "./execution-dispatch.ts";

export type { StepOptions } from "./step-options.ts";

export interface ExecutorDeps {
  store: Store;
  blobs: BlobStore;
  tools: ToolCaller;
  codemode: CodeModeEngines;
  containers: ContainerRunner | null;
  steps: StepLifecycle;
  admission: Admission;
  log: Logger;
  crash: Crashpoints;
}

/**
 * Executes actions as journaled steps of runs.
 * @example const res = await executor.oneOff(who, { sandbox: "codemode", code: "return 1" })
 */
export class Executor {
  readonly #d: ExecutorDeps;
  /** Steps executing in this process, by run and key, with the input hash they were claimed with. */
  readonly #running = new Map<string, { hash: string; done: Promise<ExecutionResponse> }>();

  constructor(deps: ExecutorDeps) {
    this.#d = deps;
  }

  /**
   * Takes an execution slot of `who` now (429 Rejection at the limit), for a caller that must know before
   * it starts a response stream; pass it as `StepOptions.admitted`.
   */
  admit(who: Caller): Promise<Release> {
    return this.#d.admission.execution(who, "refuse");
  }

  /** The run of a one-off execution (idempotent by key when one is given). */
  async implicitRun(who: Caller, idempotencyKey?: string): Promise<RunRecord> {
    return (await this.#implicitRun(who, idempotencyKey)).run;
  }

  async #implicitRun(
    who: Caller,
    idempotencyKey?: string,
    origin: "one-off" | "mcp" = "one-off",
  ): Promise<{ run: RunRecord; created: boolean }> {
    return this.#d.store.createRun(newImplicitRun(who, idempotencyKey, origin));
  }

  /** POST /v1/executions: an implicit run with one step. */
  async oneOff(
    who: Caller,
    req: ExecutionRequest,
    idempotencyKey?: string,
    origin: "one-off" | "mcp" = "one-off",
  ): Promise<ExecutionResponse> {
    // Bad input files are refused before the implicit run exists; decoded once, for the step too.
    const action = fromExecution(req);
    const files = await this.#inputFiles(who, action);
    // Without a key it cannot be a replay: a tenant at its limit is refused before anything is created.
    const admitted = idempotencyKey ? undefined : await this.admit(who);
    if (admitted) {
      // A new run: created with its step's claim and ended with its end, one transaction each.
      const implicitRun: ImplicitRun = {
        run: newImplicitRun(who, undefined, origin),
        ended: false,
        patchedAttempt: null,
      };
      const res = await this.#coalesced(
        who,
        implicitRun.run,
        "execution",
        action,
        { admitted, journaled: null },
        files,
        inputHash(action, files),
        implicitRun,
      );
      // Ended without the run's update (cut short by a shutdown, attempts exhausted): written on its own.
      if (!res.replayed && !implicitRun.ended) await this.#endRun(implicitRun.run.id, res);
      return res;
    }
    // With a key: the run of the key (a replay finds it), created on its own; its step may be journaled.
    const implicit = await this.#implicitRun(who, `execution:${idempotencyKey}`, origin);
    const run = implicit.run;
    // A run made by this request has no step yet; one found by its Idempotency-Key may (a replay).
    const journaled = implicit.created ? null : await this.#d.store.getStep(run.id, "execution");
    const hash = inputHash(action, files);
    // The same Idempotency-Key with another request is refused, like a reused step key.
    this.#assertSameInput(run.id, "execution", hash, journaled);
    const res = await this.#coalesced(who, run, "execution", action, { journaled }, files, hash);
    if (!res.replayed) await this.#endRun(run.id, res);
    return res;
  }

  /** A one-off's run ends with its only step's status and result. */
  async #endRun(runId: string, res: ExecutionResponse): Promise<void> {
    await this.#d.store.updateRun(runId, finishedRun(res));
  }

  /**
   * Runs step `key` of `run` once. A finished key answers from the journal (`replayed: true`);
   * concurrent calls with one key share one execution; an unfinished key is re-executed as attempt + 1.
   */
  async step(
    who: Caller,
    run: RunRecord,
    key: string,
    action: ActionSpec,
    opts: StepOptions = {},
  ): Promise<ExecutionResponse> {
    // Refusals (bad file paths, unknown blobs, oversized uploads) happen before anything is journaled.
    const files = await this.#inputFiles(who, action);
    const hash = inputHash(action, files);
    const journaled =
      opts.journaled !== undefined ? opts.journaled : await this.#d.store.getStep(run.id, key);
    if (opts.onInputMismatch === "reject") this.#assertSameInput(run.id, key, hash, journaled);
    return this.#coalesced(who, run, key, action, { ...opts, journaled }, files, hash);
  }

  /**
   * Throws Rejection `input_mismatch` when step `key` of `runId` was claimed (in flight here, or journaled)
   * with an input other than `action`'s (files resolved as `who`'s, so a bad file is refused first).
   */
  async assertSameInput(
    who: Caller,
    runId: string,
    key: string,
    action: ActionSpec,
    journaled: StepRecord | null,
  ): Promise<void> {
    this.#assertSameInput(runId, key, inputHash(action, await this.#inputFiles(who, action)), journaled);
  }

  #assertSameInput(runId: string, key: string, hash: string, step: StepRecord | null | undefined): void {
    const journaled =
      this.#running.get(`${runId}\0${key}`)?.hash ??
      (step?.input as { inputHash?: unknown } | null | undefined)?.inputHash;
    // Steps journaled before input hashes existed (or by another kind of caller) have none: nothing to compare.
    if (typeof journaled !== "string" || journaled === hash) return;
    throw inputMismatch(runId, key, journaled, hash);
  }

  /** The checked input files of an action (none but for containers), blobs read as `who`'s tenant. */
  #inputFiles(who: Caller, action: ActionSpec): Promise<ContainerFile[]> {
    if (action.type !== "container") return Promise.resolve([]);
    return resolveInputFiles(action.files, async (sha256) =>
      (await this.#d.store.hasBlobRef(who.tenant, sha256)) ? this.#d.blobs.get(sha256) : null,
    );
  }

  async #coalesced(
    who: Caller,
    run: Pick<RunRecord, "id">,
    key: string,
    action: ActionSpec,
    opts: StepOptions,
    files: ContainerFile[],
    hash: string,
    implicit?: ImplicitRun,
  ): Promise<ExecutionResponse> {
    const flight = `${run.id}\0${key}`;
    const pending = this.#running.get(flight);
    if (pending) {
      opts.admitted?.();
      // Claimed meanwhile by a request with another input: the same refusal as a journaled one.
      if (opts.onInputMismatch === "reject" && pending.hash !== hash)
        this.#assertSameInput(run.id, key, hash, null);
      return pending.done;
    }
    const done = this.#admitted(who, run, key, action, opts, files, hash, implicit);
    this.#running.set(flight, { hash, done });
    try {
      return await done;
    } finally {
      this.#running.delete(flight);
    }
  }

  async #admitted(
    who: Caller,
    run: Pick<RunRecord, "id">,
    key: string,
    action: ActionSpec,
    opts: StepOptions,
    files: ContainerFile[],
    hash: string,
    implicit?: ImplicitRun,
  ): Promise<ExecutionResponse> {
    // A key the journal has finished replays without taking a slot: nothing executes.
    const done = opts.journaled !== undefined ? opts.journaled : await this.#d.store.getStep(run.id, key);
    if (done && (done.status === "succeeded" || done.status === "failed")) return this.respond(done, true);
    const release = opts.admitted ?? (await this.#slot(who, opts));
    try {
      return await this.#step(who, run, key, action, opts, files, hash, implicit);
    } finally {
      release();
    }
  }

  /** An execution slot; a step queued for one (`wait`) gives up when the service begins to shut down. */
  async #slot(who: Caller, opts: StepOptions): Promise<Release> {
    const mode = opts.admission ?? "refuse";
    if (mode === "refuse") return this.#d.admission.execution(who, mode, opts.signal);
    const draining = this.#d.steps.draining;
    // Unhooked once the slot is had (AbortSignal.any would leave a weak reference on the run's signal).
    const both = opts.signal ? anySignal([opts.signal, draining]) : undefined;
    try {
      return await this.#d.admission.execution(who, mode, both?.signal ?? draining);
    } catch (err) {
      if (!draining.aborted) throw err;
      throw new Rejection("unavailable", "the service is shutting down; the step runs when its run resumes");
    } finally {
      both?.dispose();
    }
  }

  /** One execution as a journaled step (the lifecycle claims, replays, ends and announces it). */
  async #step(
    who: Caller,
    run: Pick<RunRecord, "id">,
    key: string,
    action: ActionSpec,
    opts: StepOptions,
    files: ContainerFile[],
    hash: string,
    implicit?: ImplicitRun,
  ): Promise<ExecutionResponse> {
    const det: Determinism | null =
      action.type === "codemode" ? { seed: action.seed ?? seedFor(run.id, key), clockMs: Date.now() } : null;
    const spec = {
      runId: run.id,
      key,
      kind: action.type,
      input: journalInput(action, det, files, hash),
      tenant: who.tenant,
      remediation: opts.remediation ?? null,
      audit: {
        tenant: who.tenant,
        keyId: who.keyId,
        policy: who.policy.name,
        policyVersion: who.policy.version,
      },
      externalFields: EXECUTION_EXTERNAL_FIELDS,
      maxAttempts: who.policy.limits.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      limits: who.policy.limits,
      ...(implicit ? { run: implicit.run } : {}),
    };
    const outcome = await this.#d.steps.run(
      spec,
      async ({ step, signal, output }): Promise<StepEnding> => {
        const journaledDet = (step.input as { determinism?: Determinism } | null)?.determinism ?? det;
        const ctx: StepContext = {
          who,
          runId: run.id,
          step,
          narrowedTo: opts.narrowedTo,
          extraTools: opts.extraTools,
          signal,
          output,
        };
        const result = await executeTraced(this.#d, ctx, action, journaledDet, files);
        const attempt = step.attempt;
        return {
          status: result.status,
          output: result.output,
          failure: result.failure ? checkRemedy(who.policy, result.failure, action.type) : null,
          usage: result.output.usage ?? null,
          cached: result.output.cached ?? false,
          ...(result.resolved || result.audit
            ? { audit: { ...(result.resolved ? { resolved: result.resolved } : {}), ...result.audit } }
            : {}),
          ...(result.toolCalls ? { toolCalls: result.toolCalls } : {}),
          ...(implicit ? { runPatch: (e: StepEnding) => endedRun(implicit, attempt, e) } : {}),
        };
      },
      { signal: opts.signal },
    );
    // The run ended with the step only if the end that committed (an `ended` outcome) carried its patch: an
    // end built but never committed (fenced out, then cut short) leaves the run to the caller to end.
    if (implicit)
      implicit.ended = outcome.kind === "ended" && implicit.patchedAttempt === outcome.step.attempt;
    switch (outcome.kind) {
      case "replayed":
        return this.respond(outcome.step, true);
      case "interrupted":
        // Cut short (a shutdown past its grace, a journal write that failed): unfinished, re-executed on retry.
        return composeResponse(outcome.step, (outcome.output ?? {}) as StepOutput, outcome.failure, false);
      case "ended":
        // No output: the attempt was refused (attempt cap) or the host failed (internal_error).
        return composeResponse(
          outcome.step,
          (outcome.output ?? { usage: { wallMs: 0 } }) as StepOutput,
          outcome.step.failure ?? undefined,
          false,
        );
    }
  }

  /** The execution response of a journaled step. */
  respond(step: StepRecord, replayed: boolean): Promise<ExecutionResponse> {
    return respondStep(step, replayed, this.#d.blobs);
  }
}
