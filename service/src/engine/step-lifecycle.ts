// The one step lifecycle every journaled step goes through: claim → event → crash point → work →
// externalize large values → end → event. Executions, tool steps, LLM turns, human answers and
// checkpoints all use it, so crash points, blobs, events and audit behave the same for each.
import type { Failure } from "@mend/wire";
import type { BlobStore } from "../store/blob-store.ts";
import type { StepRecord, ToolCallRow } from "../store/records.ts";
import type { StepClaim, Store } from "../store/store.ts";
import {
  FencedError,
  LeaseLostError,
  QuotaExceededError,
  StorageUnavailableError,
} from "../store/store-errors.ts";
import type { Logger } from "../log/logger.ts";
import type { Crashpoints } from "./crashpoint.ts";
import type { Inflight } from "./inflight.ts";
import type { RunEvents } from "./run-events.ts";
import { StepOutputStream } from "./step-output-stream.ts";
import { externalize, fitsInline, internalize } from "./step-output.ts";
import { quotaFailure } from "./tenant-quotas.ts";
import { NOOP_SPAN, tracer, tracing } from "../lib/tracing.ts";
import type { Replica } from "./replica.ts";
import { sleep } from "../lib/retry.ts";
import { anySignal } from "../lib/any-signal.ts";
import type { StepEnding, StepOpening, StepOutcome, StepSpec, StepWork } from "./step-spec.ts";
import { SHUTDOWN, cancelledByRun, cutShort, exhausted, hostFault } from "./step-failures.ts";
import { newStepClaim, recordedEnd, stepEnd } from "./step-writes.ts";
import { reportStep } from "./step-telemetry.ts";

export { DEFAULT_MAX_ATTEMPTS } from "./step-spec.ts";
export type { StepEnding, StepOpening, StepOutcome, StepSpec, StepWork } from "./step-spec.ts";

/** How often a claim that found its step running on another live replica looks again. */
const OWNED_POLL_MS = 50;

export interface StepLifecycleDeps {
  store: Store;
  blobs: BlobStore;
  events: RunEvents;
  crash: Crashpoints;
  inflight: Inflight;
  log: Logger;
  /** This process as a replica: steps it runs are claimed as its own (absent: anonymous claims). */
  replica?: Replica;
}

/**
 * Runs journaled steps. Semantics, the same for every kind (like Restate's `ctx.run`):
 *
 * - **At most one completed execution per (run, key).** A key whose step ended (`succeeded` or `failed`)
 *   is never executed again: `run` answers `replayed` with the journaled output.
 * - **Unfinished attempts are re-executed.** A step left `started` or `interrupted` (a crash, a shutdown)
 *   is claimed again as `attempt + 1` with its first input; side effects inside it carry the same
 *   idempotency keys (run/step/seq), so a tool can deduplicate.
 * - **Nothing is acknowledged before it is durable.** `ended` is returned after the end is committed.
 * - **Cancellation is a failure, shutdown is not.** Work cut by the run's cancellation ends `failed`
 *   (`interrupted`, not retryable); work cut by a shutdown's deadline stays unfinished, and so does work
 *   that reports itself cut short (a failure of kind `interrupted` marked retryable: a tool call the
 *   journal could not record, a relay client that went away) — the step is left `interrupted`.
 * - **A host fault inside the work** (the work throws: a bug of the service, never the guest's doing) ends
 *   the step `failed` with kind `internal_error` and the process keeps serving; a storage fault while
 *   ending it propagates (the edge answers 503 `storage_unavailable`), leaving the attempt unfinished.
 * - **Attempts are capped.** An attempt beyond `spec.maxAttempts` is not executed: the step ends `failed`
 *   with kind `attempts_exhausted`, naming its attempts.
 * - Crash points (`MEND_CRASHPOINT`): `after-step-start`, `before-step-end`, `after-step-end`.
 *
 * @example
 * const out = await steps.run({ runId, key: "iter-1/llm", kind: "llm", input, tenant }, async ({ signal }) => ({
 *   status: "succeeded", output: await callModel(signal),
 * }));
 */
export class StepLifecycle {
  readonly #d: StepLifecycleDeps;
  /** Hosted runs driven here, with the lease owner their claims are fenced by. */
  readonly #leases = new Map<string, string>();

  constructor(deps: StepLifecycleDeps) {
    this.#d = deps;
  }

  /** A journaled step's output as the work produced it (large values read back from the blob store). */
  async output(step: StepRecord): Promise<unknown> {
    return step.output ? internalize(step.output, this.#d.blobs) : null;
  }

  /** Fires when the service begins to shut down: a step that has not started yet must not start. */
  get draining(): AbortSignal {
    return this.#d.inflight.draining;
  }

  /**
   * From now on the claims of run `runId` are fenced by `owner`'s lease (a hosted run's driver): once the
   * lease is lost, a claim throws FencedError and writes nothing.
   */
  holdLease(runId: string, owner: string): void {
    this.#leases.set(runId, owner);
  }

  dropLease(runId: string, owner: string): void {
    if (this.#leases.get(runId) === owner) this.#leases.delete(runId);
  }

  /**
   * Claims and runs step `spec.key`; `work` returning null means "cut short by a shutdown". An end fenced
   * out (this replica's heartbeat lapsed under load and another replica claimed the step meanwhile) is not
   * an error of the step: the claim is made again, and answers the other attempt's end once it is journaled.
   */
  async run(
    spec: StepSpec,
    work: (w: StepWork) => Promise<StepEnding | null>,
    opts: { signal?: AbortSignal } = {},
  ): Promise<StepOutcome> {
    for (let fenced = 0; ; fenced++) {
      try {
        return await this.#runOnce(spec, work, opts);
      } catch (err) {
        // A lost lease fences the claim itself: the hosted driver stops (the run has a new one).
        if (!(err instanceof FencedError) || err instanceof LeaseLostError || fenced >= 3) throw err;
        this.#d.log.warn({ runId: spec.runId, key: spec.key }, "step end fenced out; claiming it again");
      }
    }
  }

  async #runOnce(
    spec: StepSpec,
    work: (w: StepWork) => Promise<StepEnding | null>,
    opts: { signal?: AbortSignal },
  ): Promise<StepOutcome> {
    const opened = await this.#open(spec, true);
    if (opened.kind === "interrupted") return opened;
    if (opened.kind === "replayed") return opened;
    const step = opened.step;
    const attrs = { "mend.run_id": spec.runId, "mend.step.key": spec.key, "mend.step.kind": spec.kind };
    return tracer().span("mend.step", { ...attrs, "mend.step.attempt": step.attempt }, async (span) => {
      const t0 = performance.now();
      const outcome = await this.#attempt(spec, step, work, opts);
      const failure =
        outcome.kind === "ended"
          ? outcome.step.failure
          : outcome.kind === "interrupted"
            ? outcome.failure
            : null;
      const status =
        outcome.kind === "ended"
          ? outcome.step.status === "succeeded"
            ? "succeeded"
            : "failed"
          : "interrupted";
      reportStep(span, spec.kind, status, failure?.kind, (performance.now() - t0) / 1000);
      return outcome;
    });
  }

  async #attempt(
    spec: StepSpec,
    step: StepRecord,
    work: (w: StepWork) => Promise<StepEnding | null>,
    opts: { signal?: AbortSignal },
  ): Promise<StepOutcome> {
    if (spec.maxAttempts !== undefined && step.attempt > spec.maxAttempts) {
      const ending: StepEnding = {
        status: "failed",
        output: null,
        failure: exhausted(step, spec.maxAttempts),
      };
      return { kind: "ended", step: await this.end(spec, step, ending), output: null };
    }
    const inflight = this.#d.inflight.begin();
    // Not AbortSignal.any: it leaves a weak reference and a finalizer on the run's long-lived signal per step
    // until a GC collects the composite; this one is unhooked as soon as the work ends.
    const both = opts.signal ? anySignal([inflight.signal, opts.signal]) : undefined;
    const signal = both?.signal ?? inflight.signal;
    let ending: StepEnding | null;
    const live = new StepOutputStream(step.seq, step.attempt, (ev) =>
      this.#d.events.publish(spec.runId, "step.output", ev),
    );
    try {
      ending = await work({ step, signal, output: (stream, text) => live.push(stream, text) }).finally(() =>
        both?.dispose(),
      );
    } catch (err) {
      await live.close();
      inflight.end();
      // Cut by a shutdown, a throw is the teardown's doing: unfinished, re-executed next time.
      if (inflight.signal.aborted) return { kind: "interrupted", step, output: null, failure: SHUTDOWN };
      // The store failed under the work: not the step's fault; unfinished, re-executed once it is back (503).
      if (err instanceof StorageUnavailableError) throw err;
      // A write of the work past the tenant's quota (a blob, a tool call): the step fails as quota_exceeded.
      if (err instanceof QuotaExceededError) {
        const failure = quotaFailure(err.quota, spec.limits?.[err.quota]);
        const ended = await this.end(spec, step, { status: "failed", output: null, failure });
        return { kind: "ended", step: ended, output: null };
      }
      this.#d.log.error(
        { err, runId: spec.runId, seq: step.seq, key: spec.key },
        "step crashed the host path",
      );
      const failure = hostFault(err);
      const ended = await this.end(spec, step, { status: "failed", output: null, failure });
      return { kind: "ended", step: ended, output: null };
    }
    // Live output goes out before the end event, so a follower sees it in order.
    await live.close();
    inflight.end();
    if (inflight.signal.aborted || ending === null) {
      // A shutdown past its grace: unfinished (the shutdown marks it interrupted), re-executed next time.
      return { kind: "interrupted", step, output: ending?.output ?? null, failure: SHUTDOWN };
    }
    if (!opts.signal?.aborted && cutShort(ending)) {
      // Work that reports itself cut short (a tool call the journal could not record, a relay client that
      // went away) did not finish: journaled as a failure it would replay forever; left `interrupted`, the
      // next attempt of the key re-executes it (its journaled tool calls replay).
      await this.#d.store.endStep(spec.runId, step.seq, {
        attempt: step.attempt,
        status: "interrupted",
        output: null,
        failure: ending.failure ?? null,
        usage: ending.usage ?? null,
      });
      return { kind: "interrupted", step, output: ending.output, failure: ending.failure! };
    }
    if (opts.signal?.aborted) {
      ending = {
        ...ending,
        status: "failed",
        failure: cancelledByRun(),
      };
    }
    return { kind: "ended", step: await this.end(spec, step, ending), output: ending.output };
  }

  /**
   * Journals a step whose work is already done (a checkpoint's value): a new key is claimed and ended in
   * one transaction, answered once that commit is durable; a finished key replays. An ending the fast path
   * cannot take — a value that moves to the blob store, a key running on another replica, a write the
   * tenant's quota refuses, a hosted run's fenced claim — goes through `run`, with its usual semantics.
   * Crash point: `after-step-end` (the claim and the end are one write: nothing lies between them).
   */
  async record(spec: StepSpec, ending: StepEnding): Promise<StepOutcome> {
    const slow = () => this.run(spec, async () => ending);
    if (
      ending.status !== "succeeded" ||
      this.#leases.has(spec.runId) ||
      spec.maxAttempts !== undefined ||
      !fitsInline(ending.output, spec.externalFields ?? [])
    )
      return slow();
    const replica = this.#d.replica;
    const t0 = performance.now();
    let claim: StepClaim;
    try {
      claim = await this.#d.store.claimStep({
        ...newStepClaim(spec, replica, this.#leases.get(spec.runId)),
        end: recordedEnd(spec, ending),
      });
    } catch (err) {
      if (err instanceof QuotaExceededError) return slow();
      throw err;
    }
    if (claim.kind === "owned") return slow();
    if (claim.kind === "finished") {
      const output = claim.step.output ? await internalize(claim.step.output, this.#d.blobs) : null;
      return { kind: "replayed", step: claim.step, output };
    }
    this.#d.events.announce(claim.announced);
    this.#d.crash.hit("after-step-end");
    this.#d.events.announce(claim.endAnnounced);
    const seconds = (performance.now() - t0) / 1000;
    const step = claim.step;
    if (!tracing()) reportStep(NOOP_SPAN, spec.kind, "succeeded", undefined, seconds);
    else {
      const attrs = { "mend.run_id": spec.runId, "mend.step.key": spec.key, "mend.step.kind": spec.kind };
      await tracer().span("mend.step", { ...attrs, "mend.step.attempt": step.attempt }, async (span) =>
        reportStep(span, spec.kind, "succeeded", undefined, seconds),
      );
    }
    return { kind: "ended", step, output: ending.output };
  }

  /**
   * Claims step `spec.key` without running anything: the journal's finished entry (`replayed`), or an
   * open attempt that `end` finishes later (a human answer arrives through another request).
   */
  async begin(spec: StepSpec): Promise<StepOpening> {
    const opened = await this.#open(spec, false);
    // Without an owner a claim is never `owned`, so it is never left waiting.
    if (opened.kind === "interrupted") throw new Error("unreachable: an anonymous claim waited for an owner");
    return opened;
  }

  /**
   * Claims a step; `own`: as this replica's (the work runs here), waiting while another live replica runs
   * it — then its end replays here, or its owner died and this claim re-executes it as attempt + 1.
   */
  async #open(
    spec: StepSpec,
    own: boolean,
  ): Promise<StepOpening | { kind: "interrupted"; step: StepRecord; output: null; failure: Failure }> {
    const replica = own ? this.#d.replica : undefined;
    let claim = await this.#claim(spec, replica);
    while (claim.kind === "owned" && replica) {
      if (!(await this.#waitForOwner(claim.step, replica.stepTtlMs)))
        return { kind: "interrupted", step: claim.step, output: null, failure: SHUTDOWN };
      claim = await this.#claim(spec, replica);
    }
    if (claim.kind === "owned") throw new Error("unreachable: an anonymous claim found an owner");
    if (claim.kind === "finished") {
      const output = claim.step.output ? await internalize(claim.step.output, this.#d.blobs) : null;
      return { kind: "replayed", step: claim.step, output };
    }
    const step = claim.step;
    this.#d.events.announce(claim.announced);
    this.#d.crash.hit("after-step-start");
    return { kind: "open", step };
  }

  /** True once `owned` is no longer running under a live owner; false when this service is shutting down. */
  async #waitForOwner(owned: StepRecord, ttlMs: number): Promise<boolean> {
    for (;;) {
      if (!(await sleep(OWNED_POLL_MS, this.draining))) return false;
      const now = await this.#d.store.getStep(owned.runId, owned.key);
      if (!now || now.status !== "started" || now.attempt !== owned.attempt || now.owner !== owned.owner)
        return true;
      if ((now.heartbeatAt ?? 0) + ttlMs <= Date.now()) return true;
    }
  }

  /** The claim of `spec` (as `replica`'s when given, fenced by the run's lease when one is held here). */
  #claim(spec: StepSpec, replica: Replica | undefined): Promise<StepClaim> {
    return this.#d.store.claimStep(newStepClaim(spec, replica, this.#leases.get(spec.runId)));
  }

  /**
   * Ends an open attempt durably: large values to blobs, the end committed, then the event. An ending the
   * tenant's quota refuses (its output would pass the journal or blob quota) ends the step `failed` with
   * kind `quota_exceeded` instead, its output not stored; a failed end is never refused (store.ts setQuota).
   */
  async end(
    spec: Pick<StepSpec, "runId" | "tenant" | "externalFields" | "limits">,
    step: StepRecord,
    ending: StepEnding,
  ): Promise<StepRecord> {
    try {
      return await this.#end(spec, step, ending);
    } catch (err) {
      if (!(err instanceof QuotaExceededError)) throw err;
      // The end's tool calls count toward the journal quota too: those that fit are written one by one, as
      // they would have been while the work ran, and the end without them.
      const { toolCalls, ...rest } = ending;
      if (toolCalls?.length) await this.#fitting(toolCalls);
      if (ending.status === "failed") {
        if (!toolCalls?.length) throw err;
        return this.#end(spec, step, rest);
      }
      const failure = quotaFailure(err.quota, spec.limits?.[err.quota]);
      return this.#end(spec, step, { ...rest, status: "failed", output: null, failure });
    }
  }

  /** Writes `calls` in order until the tenant's quota refuses one (that one and the rest are not kept). */
  async #fitting(calls: ToolCallRow[]): Promise<void> {
    for (const call of calls) {
      try {
        await this.#d.store.recordToolCall(call);
      } catch (err) {
        if (err instanceof QuotaExceededError) return;
        throw err;
      }
    }
  }

  async #end(
    spec: Pick<StepSpec, "runId" | "tenant" | "externalFields">,
    step: StepRecord,
    ending: StepEnding,
  ): Promise<StepRecord> {
    const output =
      ending.output === null
        ? null
        : await externalize(
            ending.output,
            spec.externalFields ?? [],
            spec.tenant,
            this.#d.store,
            this.#d.blobs,
          );
    this.#d.crash.hit("before-step-end");
    const ended = await this.#d.store.endStep(spec.runId, step.seq, stepEnd(step, ending, output));
    this.#d.crash.hit("after-step-end");
    this.#d.events.announce(ended.announced);
    return ended;
  }
}
