// The durable core: every execution is a journaled step — claimed, run once, recorded, replayed thereafter.
import { createHash } from "node:crypto";
import { makeFailure, type ExecutionRequest, type ExecutionResponse } from "@mend/wire";
import type { CodeModeEngines, ContainerFile, ContainerRunner } from "@mend/sandboxes";
import type { BlobStore } from "../store/blob-store.ts";
import type { RunRecord, StepRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import type { ToolCaller } from "../tools/tool-caller.ts";
import type { ToolDefinition } from "../tools/tool.ts";
import type { Logger } from "../log/logger.ts";
import type { Caller } from "../core/caller.ts";
import type { Crashpoints } from "./crashpoint.ts";
import { executionId, newId } from "../core/ids.ts";
import type { Inflight } from "./inflight.ts";
import { Rejection } from "../core/rejection.ts";
import { runCodeMode, type Determinism } from "./run-codemode.ts";
import { runContainer } from "./run-container.ts";
import type { RunEvents } from "./run-events.ts";
import { runTool } from "./run-tool.ts";
import { fromExecution, type ActionSpec } from "./step-action.ts";
import type { StepContext, StepResult } from "./step-context.ts";
import { externalize, internalize } from "./step-output.ts";
import { checkRemedy } from "./check-remedy.ts";
import { decodeInputFiles } from "./input-files.ts";

export interface StepOptions {
  /** Tools the run narrowed itself to (never beyond the policy). */
  narrowedTo?: string[];
  /** Cancels this step (run cancellation); the step ends as `interrupted`. */
  signal?: AbortSignal;
  /** Links an automatic retry to the failure it remediates. */
  remediation?: Record<string, unknown> | null;
  /** Tools bound for this step only, besides the policy's (client-hosted tools of /v1/relay). */
  extraTools?: ToolDefinition[];
}

export interface ExecutorDeps {
  store: Store;
  blobs: BlobStore;
  tools: ToolCaller;
  codemode: CodeModeEngines;
  containers: ContainerRunner | null;
  events: RunEvents;
  inflight: Inflight;
  crash: Crashpoints;
  log: Logger;
}

/** Journaled form of an action: file contents and stdin are summarised, never inlined. */
function journalInput(
  action: ActionSpec,
  det: Determinism | null,
  files: ContainerFile[],
): Record<string, unknown> {
  const input: Record<string, unknown> = { ...action };
  if (action.type === "container") {
    input.files = files.map((f) => ({
      path: f.path,
      size: f.content.length,
      sha256: createHash("sha256").update(f.content).digest("hex"),
    }));
    if (action.stdin !== undefined) input.stdin = { bytes: Buffer.byteLength(action.stdin) };
  }
  if (det) input.determinism = det;
  return input;
}

/** The decoded, checked input files of an action (none but for containers); throws Rejection on bad ones. */
function inputFilesOf(action: ActionSpec): ContainerFile[] {
  return action.type === "container" ? decodeInputFiles(action.files) : [];
}

/** Seed derived from the run and key, so a script replays the same random path without storing anything. */
function seedFor(runId: string, key: string): number {
  return createHash("sha256").update(`${runId}\0${key}`).digest().readUInt32BE(0);
}

/**
 * Executes actions as journaled steps of runs.
 * @example const res = await executor.oneOff(who, { sandbox: "codemode", code: "return 1" })
 */
export class Executor {
  readonly #d: ExecutorDeps;
  readonly #running = new Map<string, Promise<ExecutionResponse>>();

  constructor(deps: ExecutorDeps) {
    this.#d = deps;
  }

  /** The run of a one-off execution (idempotent by key when one is given). */
  async implicitRun(who: Caller, idempotencyKey?: string): Promise<RunRecord> {
    const { run } = await this.#d.store.createRun({
      id: newId("run"),
      tenant: who.tenant,
      mode: "client",
      goal: null,
      implicit: true,
      policy: who.policy.name,
      policyVersion: who.policy.version,
      idempotencyKey: idempotencyKey ?? null,
    });
    return run;
  }

  /** POST /v1/executions: an implicit run with one step. */
  async oneOff(who: Caller, req: ExecutionRequest, idempotencyKey?: string): Promise<ExecutionResponse> {
    // Bad input files are refused before the implicit run exists; decoded once, for the step too.
    const action = fromExecution(req);
    const files = inputFilesOf(action);
    const run = await this.implicitRun(who, idempotencyKey ? `execution:${idempotencyKey}` : undefined);
    let res: ExecutionResponse;
    try {
      res = await this.#coalesced(who, run, "execution", action, {}, files);
    } catch (err) {
      // A host fault: the implicit run must not stay `running` forever.
      const failure = makeFailure("interrupted", `internal error: ${(err as Error).message}`, true);
      await this.#d.store.updateRun(run.id, { status: "failed", failure });
      throw err;
    }
    await this.#d.store.updateRun(run.id, {
      status: res.status,
      ...(res.status === "succeeded" ? { output: res.result ?? null } : { failure: res.failure ?? null }),
    });
    return res;
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
    // Refusals (bad file paths, oversized uploads) happen before anything is journaled.
    return this.#coalesced(who, run, key, action, opts, inputFilesOf(action));
  }

  async #coalesced(
    who: Caller,
    run: RunRecord,
    key: string,
    action: ActionSpec,
    opts: StepOptions,
    files: ContainerFile[],
  ): Promise<ExecutionResponse> {
    const flight = `${run.id}\0${key}`;
    const pending = this.#running.get(flight);
    if (pending) return pending;
    const p = this.#step(who, run, key, action, opts, files);
    this.#running.set(flight, p);
    try {
      return await p;
    } finally {
      this.#running.delete(flight);
    }
  }

  async #step(
    who: Caller,
    run: RunRecord,
    key: string,
    action: ActionSpec,
    opts: StepOptions,
    files: ContainerFile[],
  ): Promise<ExecutionResponse> {
    const { store, events, crash } = this.#d;
    const det: Determinism | null =
      action.type === "codemode" ? { seed: action.seed ?? seedFor(run.id, key), clockMs: Date.now() } : null;
    const claim = await store.claimStep({
      runId: run.id,
      key,
      kind: action.type,
      input: journalInput(action, det, files),
      remediation: opts.remediation ?? null,
      audit: {
        tenant: who.tenant,
        keyId: who.keyId,
        policy: who.policy.name,
        policyVersion: who.policy.version,
      },
    });
    if (claim.kind === "finished") return this.respond(claim.step, true);
    const step = claim.step;
    const log = this.#d.log.child({ runId: run.id, seq: step.seq, key });
    await events.publish(run.id, "step.started", {
      seq: step.seq,
      key,
      kind: step.kind,
      attempt: step.attempt,
    });
    crash.hit("after-step-start");

    const journaledDet = (step.input as { determinism?: Determinism } | null)?.determinism ?? det;
    const work = this.#d.inflight.begin();
    const signal = opts.signal ? AbortSignal.any([work.signal, opts.signal]) : work.signal;
    let result: StepResult;
    try {
      const ctx: StepContext = {
        who,
        runId: run.id,
        step,
        narrowedTo: opts.narrowedTo,
        extraTools: opts.extraTools,
        signal,
      };
      result = await this.#dispatch(ctx, action, journaledDet, files);
    } catch (err) {
      // A fault of the host itself (not of the guest): recorded as an unfinished attempt, so the step stays
      // readable and a retry of the same key executes it again instead of replaying an internal error.
      log.error({ err }, "step crashed the host path");
      await store.endStep(run.id, step.seq, {
        status: "interrupted",
        output: null,
        failure: makeFailure(
          "sandbox_unavailable",
          `internal error while executing the step: ${(err as Error).message}`,
          true,
        ),
        usage: null,
      });
      throw err;
    } finally {
      work.end();
    }
    if (opts.signal?.aborted && !work.signal.aborted) {
      result = {
        status: "failed",
        output: result.output,
        failure: makeFailure("interrupted", "The run was cancelled while this step ran.", false),
      };
    } else if (work.signal.aborted) {
      // Shutdown past its grace: the step stays unfinished (marked interrupted) and is re-executed on retry.
      const failure = makeFailure(
        "interrupted",
        "The service shut down while this step ran; retry the request.",
        true,
      );
      return this.#compose(step, result.output, failure, false);
    }
    const journaled = await externalize(result.output, who.tenant, store, this.#d.blobs);
    crash.hit("before-step-end");
    const failure = result.failure ? checkRemedy(who.policy, result.failure, action.type) : null;
    const ended = await store.endStep(run.id, step.seq, {
      status: result.status,
      output: journaled,
      failure,
      usage: result.output.usage ?? null,
      cached: result.output.cached ?? false,
      ...(result.resolved ? { audit: { ...step.audit, resolved: result.resolved } } : {}),
    });
    crash.hit("after-step-end");
    await events.publish(run.id, result.status === "succeeded" ? "step.completed" : "step.failed", {
      seq: step.seq,
      key,
      kind: step.kind,
      attempt: step.attempt,
      status: result.status,
      ...(result.failure ? { failure: { kind: result.failure.kind, message: result.failure.message } } : {}),
    });
    log.debug({ status: result.status, failure: result.failure?.kind }, "step ended");
    return this.#compose(ended, result.output, failure ?? undefined, false);
  }

  #dispatch(
    ctx: StepContext,
    action: ActionSpec,
    det: Determinism | null,
    files: ContainerFile[],
  ): Promise<StepResult> {
    const d = this.#d;
    switch (action.type) {
      case "codemode":
        return runCodeMode(
          { engines: d.codemode, tools: d.tools, store: d.store, crash: d.crash },
          ctx,
          action,
          det ?? { seed: 0, clockMs: Date.now() },
        );
      case "container":
        return runContainer({ runner: d.containers, store: d.store, blobs: d.blobs }, ctx, action, files);
      case "tool":
        return runTool(d.tools, ctx, action);
    }
  }

  /** The execution response of a journaled step. */
  async respond(step: StepRecord, replayed: boolean): Promise<ExecutionResponse> {
    if (step.status !== "succeeded" && step.status !== "failed") {
      throw new Rejection("conflict", `step "${step.key}" has not finished`);
    }
    const output = step.output ? await internalize(step.output, this.#d.blobs) : { usage: { wallMs: 0 } };
    return this.#compose(step, output, step.failure ?? undefined, replayed);
  }

  #compose(
    step: StepRecord,
    output: ExecutionResponse extends infer R ? Partial<R> : never,
    failure: ExecutionResponse["failure"],
    replayed: boolean,
  ): ExecutionResponse {
    return {
      id: executionId(step.runId, step.seq),
      runId: step.runId,
      stepSeq: step.seq,
      key: step.key,
      status: failure ? "failed" : "succeeded",
      ...output,
      usage: output.usage ?? { wallMs: 0 },
      ...(failure ? { failure } : {}),
      attempts: step.attempt,
      replayed,
    };
  }
}
