// A fixed pool of warm QuickJS worker threads: one execution per worker at a time, crashed workers replaced.
import { Worker, type ResourceLimits } from "node:worker_threads";
import type { CallMessage, DoneMessage, WorkerConfig, WorkerToHost } from "./protocol.ts";

const WORKER_URL = new URL("./worker.ts", import.meta.url);

/** What the execution currently using a slot listens to. */
export interface SlotListener {
  message(message: CallMessage | DoneMessage): void;
  /** The worker died (error, exit, out of heap) while this listener was attached. */
  fault(reason: string): void;
}

/** One worker thread and its lifecycle; `respawn` swaps in a fresh worker. */
export class WorkerSlot {
  worker!: Worker;
  /** Resolves when the worker has loaded its wasm module; rejects if it died first. */
  ready!: Promise<void>;
  busy = false;
  #listener: SlotListener | undefined;
  readonly #config: WorkerConfig;
  readonly #limits: ResourceLimits;
  readonly #onReplace: () => void;

  constructor(config: WorkerConfig, limits: ResourceLimits, onReplace: () => void) {
    this.#config = config;
    this.#limits = limits;
    this.#onReplace = onReplace;
    this.#spawn();
  }

  attach(listener: SlotListener): void {
    this.#listener = listener;
  }

  detach(): void {
    this.#listener = undefined;
  }

  /** Terminates the current worker (whatever it is doing) and starts a fresh one in its place. */
  respawn(): void {
    this.#listener = undefined;
    this.#kill();
    this.#onReplace();
    this.#spawn();
  }

  /** Terminates the worker for good. */
  async close(): Promise<void> {
    this.#listener = undefined;
    const worker = this.worker;
    worker.removeAllListeners();
    worker.on("error", () => {});
    await worker.terminate();
  }

  #kill(): void {
    const worker = this.worker;
    worker.removeAllListeners();
    worker.on("error", () => {});
    worker.terminate().catch(() => {});
  }

  #spawn(): void {
    const worker = new Worker(WORKER_URL, { workerData: this.#config, resourceLimits: this.#limits });
    this.worker = worker;
    let markReady: () => void = () => {};
    let markDead: (error: Error) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markDead = reject;
    });
    this.ready.catch(() => {});
    worker.on("message", (message: WorkerToHost) => {
      if (message.type === "ready") markReady();
      else this.#listener?.message(message);
    });
    const died = (reason: string): void => {
      markDead(new Error(reason));
      const listener = this.#listener;
      this.#listener = undefined;
      if (this.worker === worker) {
        this.#kill();
        this.#onReplace();
        this.#spawn();
      }
      listener?.fault(reason);
    };
    worker.on("error", (error: Error & { code?: string }) =>
      died(`${error.code ?? error.name}: ${error.message}`),
    );
    worker.on("exit", (code) => died(`worker exited with code ${code}`));
  }
}

/** Options of the pool. */
export interface PoolOptions {
  size: number;
  config: WorkerConfig;
  resourceLimits: ResourceLimits;
}

/**
 * Hands out idle workers FIFO. A slot stays in the pool for the engine's lifetime; its worker is
 * replaced in place after a crash, a kill or a recycle, so the worker count is stable.
 *
 * @example const slot = await pool.acquire(signal); try { ... } finally { pool.release(slot); }
 */
export class WorkerPool {
  readonly #slots: WorkerSlot[] = [];
  readonly #waiters: { resolve: (slot: WorkerSlot) => void; reject: (error: Error) => void }[] = [];
  #replaced = 0;
  #closed = false;

  constructor(options: PoolOptions) {
    for (let i = 0; i < options.size; i++) {
      this.#slots.push(new WorkerSlot(options.config, options.resourceLimits, () => this.#replaced++));
    }
  }

  /** Waits for an idle worker (FIFO). Rejects when `signal` aborts first or the pool is closed. */
  acquire(signal?: AbortSignal): Promise<WorkerSlot> {
    if (this.#closed) return Promise.reject(new Error("the QuickJS engine is disposed"));
    const idle = this.#slots.find((slot) => !slot.busy);
    if (idle !== undefined) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    return new Promise<WorkerSlot>((resolve, reject) => {
      const waiter = {
        resolve: (slot: WorkerSlot) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(slot);
        },
        reject,
      };
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new Error("aborted while waiting for a worker"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  release(slot: WorkerSlot): void {
    const next = this.#waiters.shift();
    if (next !== undefined && !this.#closed) next.resolve(slot);
    else slot.busy = false;
  }

  /** Waits until every worker has loaded its module. */
  async ready(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => slot.ready));
  }

  stats(): { workers: number; busy: number; queued: number; replaced: number } {
    return {
      workers: this.#slots.length,
      busy: this.#slots.filter((slot) => slot.busy).length,
      queued: this.#waiters.length,
      replaced: this.#replaced,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new Error("the QuickJS engine is disposed"));
    await Promise.all(this.#slots.map((slot) => slot.close()));
  }
}
