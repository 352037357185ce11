// One QuickJS worker thread seen from the host: its lifecycle, its resident guests, the slice it runs.
import { Worker, type ResourceLimits } from "node:worker_threads";
import {
  CONTROL_ABORT,
  type CallMessage,
  type DoneMessage,
  type HostToWorker,
  type ParkedMessage,
  type WorkerToHost,
} from "./protocol.ts";

const WORKER_URL = new URL("./worker.ts", import.meta.url);

/** What the scheduler hears from a worker. */
export interface SlotEvents<T> {
  onReady(slot: WorkerSlot<T>): void;
  onMessage(slot: WorkerSlot<T>, message: CallMessage | ParkedMessage | DoneMessage): void;
  /** The worker is gone or unusable (crash, exit, abort, broken module); `culprit` ran the breaking slice. */
  onBroken(slot: WorkerSlot<T>, culprit: number | undefined, reason: string): void;
}

/** How a slot is started. */
export interface SlotConfig {
  wasmMemoryMaxMb: number;
  resourceLimits: ResourceLimits;
}

/**
 * A worker thread hosting many guests (`T`: the scheduler's record of one). The scheduler keeps its bookkeeping here: the resident guests
 * (parked or waiting for their next slice), the one guest whose slice runs now, the memory reported.
 * A slot is never reused after it broke: the scheduler makes a new one.
 *
 * @example const slot = new WorkerSlot(1, config, events, false); slot.post({ type: "drop", id: 3 });
 */
export class WorkerSlot<T> {
  readonly index: number;
  /** Started beyond the base count for a tenant that found no free worker; retired when idle. */
  readonly burst: boolean;
  readonly #worker: Worker;
  readonly #control: Int32Array;
  readonly #events: SlotEvents<T>;
  isReady = false;
  isBroken = false;
  /** Takes no new guests (its wasm memory grew past the recycle mark); replaced once empty. */
  draining = false;
  /** Guests living in this worker, by incarnation id. */
  readonly residents = new Map<number, T>();
  /** The guest whose slice this worker runs now. */
  running: (T & { id: number }) | undefined;
  /** When the running slice is stuck (its budget and the kill grace spent): the watchdog kills the worker. */
  killAt = Number.POSITIVE_INFINITY;
  /** When the running slice next moves other tenants' waiting guests elsewhere. */
  migrateAt = Number.POSITIVE_INFINITY;
  /** What its guests count for when placing more (the scheduler's accounting), in bytes. */
  footprintBytes = 0;
  /** The largest memory limit among its guests, MiB (undefined: to be recomputed). */
  maxLimitMb: number | undefined = 0;
  /** The worker's wasm memory at its last report, in bytes. */
  wasmBytes = 0;
  /** When the slot last had no resident (for retiring burst slots). */
  idleSince = performance.now();

  constructor(index: number, config: SlotConfig, events: SlotEvents<T>, burst: boolean) {
    this.index = index;
    this.burst = burst;
    this.#events = events;
    const control = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * 2);
    this.#control = new Int32Array(control);
    const worker = new Worker(WORKER_URL, {
      workerData: { wasmMemoryMaxMb: config.wasmMemoryMaxMb, control },
      resourceLimits: config.resourceLimits,
    });
    this.#worker = worker;
    worker.on("message", (message: WorkerToHost) => {
      if (this.isBroken) return;
      if (message.type === "ready") {
        this.isReady = true;
        events.onReady(this);
      } else if (message.type === "broken") this.#fail(message.id, message.reason);
      else events.onMessage(this, message);
    });
    worker.on("error", (error: Error & { code?: string }) =>
      this.#fail(this.running?.id, `${error.code ?? error.name}: ${error.message}`),
    );
    worker.on("exit", (code) => this.#fail(this.running?.id, `worker exited with code ${code}`));
  }

  /** Sends a message; ignored once the worker is gone. */
  post(message: HostToWorker): void {
    if (!this.isBroken) this.#worker.postMessage(message);
  }

  /** Asks the worker to stop guest `id` at its next interrupt check (it runs now). */
  abort(id: number): void {
    Atomics.store(this.#control, CONTROL_ABORT, id);
  }

  /** Terminates the worker from outside (a stuck slice): reported through `onBroken`. */
  kill(reason: string, culprit: number | undefined): void {
    this.#fail(culprit, reason);
  }

  /** Terminates the worker for good, without reporting. */
  async close(): Promise<void> {
    this.isBroken = true;
    this.#worker.removeAllListeners();
    this.#worker.on("error", () => {});
    await this.#worker.terminate();
  }

  #fail(culprit: number | undefined, reason: string): void {
    if (this.isBroken) return;
    this.isBroken = true;
    this.#worker.removeAllListeners();
    this.#worker.on("error", () => {});
    this.#worker.terminate().catch(() => {});
    this.#events.onBroken(this, culprit, reason);
  }
}
