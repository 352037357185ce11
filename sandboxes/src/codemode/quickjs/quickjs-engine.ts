// The QuickJS code-mode engine: guests in warm worker threads (many per worker), tool calls brokered on the host,
// slices scheduled fairly between tenants, limits enforced twice.
import { availableParallelism } from "node:os";
import type { CodeModeEngine, CodeModeLimits, CodeModeOutcome, CodeModeRequest } from "../engine.ts";
import { interruptedFailure } from "../guest-failures.ts";
import { ToolCallBroker } from "../tool-calls.ts";
import { GuestScheduler, type SchedulerStats } from "./guest-scheduler.ts";
import { GuestTask } from "./guest-task.ts";
import type { WorkerOutcome } from "./protocol.ts";
import type { SandboxLoad } from "../../fair-share/sandbox-load.ts";

/** Options of the QuickJS engine; every field has a default. */
export interface QuickJsEngineOptions {
  /** Worker threads kept warm. Default: between 2 and 4, by cores. */
  workers?: number;
  /**
   * Most worker threads at once: beyond `workers`, burst workers start when a tenant below its share
   * finds none free (another tenant's long CPU-bound slices hold them), and retire when idle. Default 2 × workers.
   */
  maxWorkers?: number;
  /** Most guests living in one worker, parked ones included (memory bounds it first). Default 4096. */
  maxGuestsPerWorker?: number;
  /** Hard cap of each worker's wasm memory (shared by its guests), in MiB. Default 512. */
  wasmMemoryMaxMb?: number;
  /** A worker whose wasm memory grew past this takes no new guests and is replaced once empty, in MiB. Default 160. */
  recycleAboveMb?: number;
  /** Extra time after a slice's budget before the host terminates a stuck worker, in ms. Default 250. */
  killGraceMs?: number;
  /** A slice longer than this moves the other tenants' guests waiting on its worker elsewhere, in ms. Default 50. */
  migrateAfterMs?: number;
  /** A burst worker without guests for this long is retired, in ms. Default 30000. */
  burstIdleMs?: number;
  /**
   * Ceiling of limits.stackKb (the worker's native stack is sized from it). Default 1024; never
   * above 2048, the most the build's wasm shadow stack holds (beyond it QuickJS misreads its limit).
   */
  maxStackKb?: number;
  /** Native stack of each worker thread, in MiB. Default: 8 × maxStackKb + 2 MiB (wasm frames are big). */
  workerStackMb?: number;
  /** V8 heap of each worker (host side of its guests: messages, strings), in MiB. Default 256. */
  workerHeapMb?: number;
}

/** The most QuickJS stack this wasm build can account for (its shadow stack is a few MiB). */
const MAX_STACK_KB = 2048;
/** Times a guest may start over on another worker (its worker lost to other guests) before failing. */
const MAX_RERUNS = 3;
/** Times a guest may be moved off a worker held by another tenant's long slice. */
const MAX_MIGRATIONS = 4;

/**
 * Runs code-mode scripts in QuickJS (quickjs-emscripten, synchronous release build) inside worker
 * threads: a fresh runtime and context per execution, the wasm module loaded once per worker, many
 * guests per worker. A guest awaiting a tool call is parked and holds no worker; see GuestScheduler for
 * placement, fair scheduling between tenants (`request.tenant`, `request.weight`), burst workers and
 * what happens to a worker's other guests when one crashes it. The wall clock is enforced by the
 * interrupt handler inside the worker and, for long built-ins that never reach it, by terminating the
 * worker from the host. Any worker crash becomes a structured failure; the host is never affected.
 *
 * @example
 * const engine = new QuickJsEngine({ workers: 2 });
 * const outcome = await engine.execute({ code: "return 6 * 7", language: "javascript", tools: [], limits, seed: 1, clockMs: Date.now(), invokeTool });
 * await engine.dispose();
 */
export class QuickJsEngine implements CodeModeEngine {
  readonly name = "quickjs";
  readonly #scheduler: GuestScheduler;
  readonly #maxStackKb: number;
  readonly #wasmMemoryMaxMb: number;
  #disposed = false;

  constructor(options: QuickJsEngineOptions = {}) {
    this.#maxStackKb = Math.min(options.maxStackKb ?? 1024, MAX_STACK_KB);
    this.#wasmMemoryMaxMb = options.wasmMemoryMaxMb ?? 512;
    const workers = options.workers ?? Math.min(4, Math.max(2, availableParallelism()));
    this.#scheduler = new GuestScheduler({
      workers,
      maxWorkers: Math.max(workers, options.maxWorkers ?? workers * 2),
      maxGuestsPerWorker: options.maxGuestsPerWorker ?? 4096,
      wasmMemoryMaxMb: this.#wasmMemoryMaxMb,
      recycleAboveMb: options.recycleAboveMb ?? 160,
      killGraceMs: options.killGraceMs ?? 250,
      migrateAfterMs: options.migrateAfterMs ?? 50,
      burstIdleMs: options.burstIdleMs ?? 30_000,
      maxReruns: MAX_RERUNS,
      maxMigrations: MAX_MIGRATIONS,
      resourceLimits: {
        maxOldGenerationSizeMb: options.workerHeapMb ?? 256,
        maxYoungGenerationSizeMb: 16,
        // wasm frames live on the thread's native stack: several times the stack QuickJS accounts for.
        stackSizeMb: options.workerStackMb ?? Math.max(4, Math.ceil((this.#maxStackKb * 8) / 1024) + 2),
      },
    });
  }

  /** Resolves when every warm worker has loaded its wasm module (executions wait for it anyway). */
  async ready(): Promise<void> {
    await this.#scheduler.ready();
  }

  /**
   * Workers, guests and per-tenant load: `running` slices, `parked` guests (awaiting tools), `queued`
   * starts and resumes; `replaced` counts workers killed, crashed or recycled.
   */
  stats(): SchedulerStats {
    return this.#scheduler.stats();
  }

  /** Per-tenant load (running slices, parked guests, queued work), for /healthz. */
  load(): SandboxLoad {
    const { running, parked, queued, tenants } = this.#scheduler.stats();
    return { running, parked, queued, tenants };
  }

  async execute(request: CodeModeRequest): Promise<CodeModeOutcome> {
    if (this.#disposed) throw new Error("QuickJsEngine.execute called after dispose()");
    const started = performance.now();
    const broker = new ToolCallBroker(request);
    await broker.load();
    const task = new GuestTask(this.#scheduler.nextId(), request, this.#clamp(request.limits), broker);
    const signal = request.signal;
    const onAbort = (): void => this.#scheduler.abort(task);
    if (signal?.aborted === true) task.fail(interruptedFailure());
    else {
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#scheduler.submit(task);
    }
    const end = await task.ended;
    signal?.removeEventListener("abort", onAbort);
    const base = {
      logs: end.logs,
      logsTruncated: end.logsTruncated,
      ...broker.report(),
      usage: {
        wallMs: performance.now() - started,
        ...(task.memoryBytes > 0 ? { memoryPeakMb: round1(task.memoryBytes / 2 ** 20) } : {}),
      },
    };
    const fatal = broker.fatalFailure;
    const outcome: WorkerOutcome = fatal !== undefined ? { status: "failed", failure: fatal } : end.outcome;
    if (outcome.status === "succeeded")
      return { ...base, status: "succeeded", result: JSON.parse(outcome.resultJson) as unknown };
    return { ...base, status: "failed", failure: outcome.failure };
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#scheduler.close();
  }

  #clamp(limits: CodeModeLimits): CodeModeLimits {
    return {
      ...limits,
      stackKb: Math.max(16, Math.min(limits.stackKb, this.#maxStackKb)),
      memoryMb: Math.max(1, Math.min(limits.memoryMb, this.#wasmMemoryMaxMb)),
    };
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
