// The QuickJS code-mode engine: guests in warm worker threads, tool calls brokered on the host, limits enforced twice.
import { availableParallelism } from "node:os";
import { makeFailure, type Failure } from "@mend/wire";
import type { CodeModeEngine, CodeModeLimits, CodeModeOutcome, CodeModeRequest } from "../engine.ts";
import { crashFailure, timeoutFailure } from "../guest-failures.ts";
import { ToolCallBroker } from "../tool-calls.ts";
import type { CallMessage, DoneMessage, RunMessage, WorkerOutcome } from "./protocol.ts";
import { WorkerPool, type WorkerSlot } from "./worker-pool.ts";

/** Options of the QuickJS engine; every field has a default. */
export interface QuickJsEngineOptions {
  /** Worker threads kept warm (one execution each at a time). Default: between 2 and 4, by cores. */
  workers?: number;
  /** Hard cap of each worker's wasm memory, in MiB (QuickJS's real footprint is a few times memoryMb). Default 512. */
  wasmMemoryMaxMb?: number;
  /** A worker whose wasm memory grew past this during an execution is replaced afterwards, in MiB. Default 96. */
  recycleAboveMb?: number;
  /** Extra time after timeoutMs before the host terminates a stuck worker, in ms. Default 250. */
  killGraceMs?: number;
  /**
   * Ceiling of limits.stackKb (the worker's native stack is sized from it). Default 1024; never
   * above 2048, the most the build's wasm shadow stack holds (beyond it QuickJS misreads its limit).
   */
  maxStackKb?: number;
  /** Native stack of each worker thread, in MiB. Default: 8 × maxStackKb + 2 MiB (wasm frames are big). */
  workerStackMb?: number;
  /** V8 heap of each worker (host side of the guest: messages, strings), in MiB. Default 128. */
  workerHeapMb?: number;
}

/** The most QuickJS stack this wasm build can account for (its shadow stack is a few MiB). */
const MAX_STACK_KB = 2048;

type RunEnd = Pick<DoneMessage, "outcome" | "logs" | "logsTruncated">;

const failed = (failure: Failure): RunEnd => ({
  outcome: { status: "failed", failure },
  logs: [],
  logsTruncated: false,
});

/**
 * Runs code-mode scripts in QuickJS (quickjs-emscripten, synchronous release build) inside a pool of
 * worker threads: a fresh runtime and context per execution, the wasm module loaded once per worker.
 * The wall clock is enforced by the interrupt handler inside the worker and, for long built-ins
 * that never reach it, by terminating and replacing the worker from the host. Any worker crash
 * becomes a structured failure; the host is never affected.
 *
 * @example
 * const engine = new QuickJsEngine({ workers: 2 });
 * const outcome = await engine.execute({ code: "return 6 * 7", language: "javascript", tools: [], limits, seed: 1, clockMs: Date.now(), invokeTool });
 * await engine.dispose();
 */
export class QuickJsEngine implements CodeModeEngine {
  readonly name = "quickjs";
  readonly #pool: WorkerPool;
  readonly #graceMs: number;
  readonly #maxStackKb: number;
  readonly #wasmMemoryMaxMb: number;
  #runSeq = 0;
  #disposed = false;

  constructor(options: QuickJsEngineOptions = {}) {
    this.#graceMs = options.killGraceMs ?? 250;
    this.#maxStackKb = Math.min(options.maxStackKb ?? 1024, MAX_STACK_KB);
    this.#wasmMemoryMaxMb = options.wasmMemoryMaxMb ?? 512;
    const size = options.workers ?? Math.min(4, Math.max(2, availableParallelism()));
    this.#pool = new WorkerPool({
      size,
      config: { wasmMemoryMaxMb: this.#wasmMemoryMaxMb, recycleAboveMb: options.recycleAboveMb ?? 96 },
      resourceLimits: {
        maxOldGenerationSizeMb: options.workerHeapMb ?? 128,
        maxYoungGenerationSizeMb: 16,
        // wasm frames live on the thread's native stack: several times the stack QuickJS accounts for.
        stackSizeMb: options.workerStackMb ?? Math.max(4, Math.ceil((this.#maxStackKb * 8) / 1024) + 2),
      },
    });
  }

  /** Resolves when every worker has loaded its wasm module (executions wait for it anyway). */
  async ready(): Promise<void> {
    await this.#pool.ready();
  }

  /** Pool counters: the worker count is fixed; `replaced` counts workers killed, crashed or recycled. */
  stats(): { workers: number; busy: number; queued: number; replaced: number } {
    return this.#pool.stats();
  }

  async execute(request: CodeModeRequest): Promise<CodeModeOutcome> {
    if (this.#disposed) throw new Error("QuickJsEngine.execute called after dispose()");
    const started = performance.now();
    const broker = new ToolCallBroker(request);
    await broker.load();
    const limits = this.#clamp(request.limits);
    let end: RunEnd;
    let slot: WorkerSlot | undefined;
    try {
      slot = await this.#pool.acquire(request.signal);
    } catch {
      end = failed(interrupted());
    }
    if (slot !== undefined) {
      try {
        end = await this.#runOn(slot, request, limits, broker);
      } finally {
        this.#pool.release(slot);
      }
    }
    const base = {
      logs: end!.logs,
      logsTruncated: end!.logsTruncated,
      ...broker.report(),
      usage: { wallMs: performance.now() - started },
    };
    const fatal = broker.fatalFailure;
    const outcome: WorkerOutcome = fatal !== undefined ? { status: "failed", failure: fatal } : end!.outcome;
    if (outcome.status === "succeeded")
      return { ...base, status: "succeeded", result: JSON.parse(outcome.resultJson) };
    return { ...base, status: "failed", failure: outcome.failure };
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#pool.close();
  }

  #clamp(limits: CodeModeLimits): CodeModeLimits {
    return {
      ...limits,
      stackKb: Math.max(16, Math.min(limits.stackKb, this.#maxStackKb)),
      memoryMb: Math.max(1, Math.min(limits.memoryMb, this.#wasmMemoryMaxMb)),
    };
  }

  async #runOn(
    slot: WorkerSlot,
    request: CodeModeRequest,
    limits: CodeModeLimits,
    broker: ToolCallBroker,
  ): Promise<RunEnd> {
    try {
      await slot.ready;
    } catch (error) {
      return failed(
        makeFailure(
          "sandbox_unavailable",
          `The QuickJS worker could not start: ${String(error)}. Retry shortly.`,
          true,
        ),
      );
    }
    if (request.signal?.aborted === true) return failed(interrupted());
    const id = ++this.#runSeq;
    return new Promise<RunEnd>((resolve) => {
      let finished = false;
      const finish = (end: RunEnd, replace: boolean): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        request.signal?.removeEventListener("abort", onAbort);
        slot.detach();
        if (replace) slot.respawn();
        resolve(end);
      };
      const timer = setTimeout(() => {
        const detail =
          " (the sandbox was stopped from outside: the script was stuck inside a long built-in operation)";
        finish(failed(timeoutFailure(limits, undefined, detail)), true);
      }, limits.timeoutMs + this.#graceMs);
      const onAbort = (): void => finish(failed(interrupted()), true);
      request.signal?.addEventListener("abort", onAbort, { once: true });
      slot.attach({
        message: (message) => {
          if (message.id !== id) return;
          if (message.type === "call") void this.#forward(slot, id, broker, message, () => finished);
          else finish(message, message.recycle);
        },
        fault: (reason) => finish(failed(crashFailure(limits, reason)), false),
      });
      const run: RunMessage = {
        type: "run",
        id,
        code: request.code,
        language: request.language,
        tools: broker.toolNames,
        limits,
        seed: request.seed,
        clockMs: request.clockMs,
      };
      slot.worker.postMessage(run);
    });
  }

  async #forward(
    slot: WorkerSlot,
    id: number,
    broker: ToolCallBroker,
    call: CallMessage,
    isFinished: () => boolean,
  ): Promise<void> {
    const settled = await broker.call(call.tool, call.argsJson);
    if (isFinished()) return;
    slot.worker.postMessage(
      settled.ok
        ? { type: "settle", id, callId: call.callId, ok: true, json: settled.valueJson }
        : {
            type: "settle",
            id,
            callId: call.callId,
            ok: false,
            failure: settled.failure,
            fatal: settled.fatal,
          },
    );
  }
}

function interrupted(): Failure {
  return makeFailure("interrupted", "The execution was cancelled before it finished.", true);
}
