// Run events: appended to the journal's events table (so a reconnect misses nothing) and announced in-process.
import { EventEmitter } from "node:events";
import type { EventRecord, RunRecord } from "../store/records.ts";
import type { RunPatch, Store } from "../store/store.ts";

export type RunEventType =
  | "step.started"
  | "step.completed"
  | "step.failed"
  /** Live output of a running step (bounded per attempt, see step-output-stream.ts). */
  | "step.output"
  | "remediation"
  | "run.waiting_for_input"
  /** A hosted run backs off from a failing model provider until `retryAt` (status stays running). */
  | "run.retrying"
  /** The first event of a fork (appended by the store with the copied journal, never published). */
  | "run.forked"
  | "run.completed";

/**
 * Publishes and follows run events: those of this process at once, those other replicas append through the
 * store's notifications (PostgreSQL LISTEN/NOTIFY), followed from the first follower on.
 * @example await events.publish(runId, "step.started", { seq: 1 }); events.onAppend(runId, fn)
 */
export class RunEvents {
  readonly #store: Store;
  readonly #bus = new EventEmitter();
  #following: Promise<(() => Promise<void>) | null> | null = null;

  constructor(store: Store) {
    this.#store = store;
    this.#bus.setMaxListeners(0);
  }

  async publish(runId: string, type: RunEventType, data: unknown): Promise<EventRecord> {
    const ev = await this.#store.appendEvent(runId, type, data);
    this.#bus.emit(runId, ev);
    return ev;
  }

  /**
   * Writes a run's change and the event announcing it in one transaction (both or neither), then tells the
   * followers. `leaseOwner`: only while that owner holds the run's lease (else LeaseLostError, nothing written).
   * @example await events.transition(runId, { status: "succeeded", output }, "run.completed", { status: "succeeded" })
   */
  async transition(
    runId: string,
    patch: RunPatch,
    type: RunEventType,
    data: unknown,
    leaseOwner?: string,
  ): Promise<RunRecord> {
    const { announced, ...run } = await this.#store.updateRun(runId, patch, {
      announce: { type, data },
      ...(leaseOwner === undefined ? {} : { leaseOwner }),
    });
    this.announce(announced);
    return run;
  }

  /** Tells followers of an event the store appended together with another write (a step's claim or end). */
  announce(ev: EventRecord | undefined): void {
    if (ev) this.#bus.emit(ev.runId, ev);
  }

  /**
   * Calls `fn` for each event appended from now on; returns the unsubscribe function. `null`: an event of
   * the run was appended by another replica (read it from the store, after the last id seen).
   */
  onAppend(runId: string, fn: (ev: EventRecord | null) => void): () => void {
    this.#follow();
    this.#bus.on(runId, fn);
    return () => this.#bus.off(runId, fn);
  }

  /** Subscribes once to the store's notifications (a failure is retried at the next follower). */
  #follow(): void {
    this.#following ??= this.#store
      .followEvents((runId) => {
        if (this.#bus.listenerCount(runId) > 0) this.#bus.emit(runId, null);
      })
      .catch(() => {
        this.#following = null;
        return null;
      });
  }

  /** Stops following the store's notifications (service shutdown). */
  async close(): Promise<void> {
    const unfollow = await this.#following;
    this.#following = null;
    await unfollow?.();
  }
}
