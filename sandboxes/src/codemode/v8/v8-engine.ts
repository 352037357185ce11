// The V8 code-mode engine: one fresh isolated-vm isolate per execution, for CPU-heavy scripts.
import { availableParallelism } from "node:os";
import type { CodeModeEngine, CodeModeOutcome, CodeModeRequest } from "../engine.ts";
import { ToolCallBroker } from "../tool-calls.ts";
import { FairGate } from "../../fair-share/fair-gate.ts";
import type { SandboxLoad } from "../../fair-share/sandbox-load.ts";
import { IsolateRun, type IsolateRunEnd } from "./isolate-run.ts";

/** Options of {@link V8Engine}; every field has a default. */
export interface V8EngineOptions {
  /**
   * Called when isolated-vm reports that V8 lost control of an isolate ("Catastrophic out-of-memory
   * error", "Script failed to terminate"). The execution still ends with a failure, but that
   * isolate's thread and memory are lost until the process restarts: the service should drain and
   * recycle the process. Default: a line on stderr.
   */
  onCatastrophicError?: (message: string) => void;
  /** Extra time after timeoutMs before the host disposes a still-running isolate, in ms. Default 50. */
  killGraceMs?: number;
  /** How long to wait for a disposed isolate's pending call before abandoning it, in ms. Default 250. */
  abandonAfterMs?: number;
  /**
   * Entries into isolates (the script's synchronous runs between tool calls) running at once, shared
   * fairly between tenants; a tenant running none still gets one at once (isolated-vm starts a thread
   * when its pool is busy, and the OS shares the CPU). Default: cores + 1.
   */
  lanes?: number;
}

/**
 * Runs code-mode scripts in V8 isolates (isolated-vm 7): a fresh isolate and context per execution,
 * disposed afterwards, on isolated-vm's own threads (the service's event loop stays free). Same
 * guest surface and outcomes as the QuickJS engine (shared conformance suite); only JSON text
 * crosses the boundary and the guest never holds an isolated-vm handle (see guest-bootstrap.ts).
 *
 * Limits: `memoryMb` → isolate heap limit `max(8, floor(memoryMb / 2))` MB, since isolated-vm's
 * limit is a guideline a hostile script can exceed 2–3× (memory-limit.ts); `timeoutMs` → `{ timeout }`
 * on every entry into the isolate, plus a host timer that disposes it; `stackKb` is not applied
 * (V8's stack size is per process): recursion ends in `stack_overflow` at V8's own depth limit.
 *
 * @example
 * const engine = new V8Engine();
 * const outcome = await engine.execute({ code: "return 6 * 7", language: "javascript", tools: [],
 *   limits, seed: 1, clockMs: Date.now(), invokeTool });
 * // outcome.status === "succeeded" && outcome.result === 42
 * await engine.dispose();
 */
export class V8Engine implements CodeModeEngine {
  readonly name = "v8" as const;
  readonly #options: Required<Omit<V8EngineOptions, "lanes">>;
  readonly #running = new Set<Promise<unknown>>();
  readonly #gate: FairGate;
  /** Executions in progress per tenant (running, parked on tools or waiting for a lane). */
  readonly #active = new Map<string, number>();
  #catastrophes = 0;
  #disposed = false;

  constructor(options: V8EngineOptions = {}) {
    this.#options = {
      onCatastrophicError:
        options.onCatastrophicError ??
        ((message) => process.stderr.write(`V8Engine: isolated-vm catastrophic error: ${message}\n`)),
      killGraceMs: options.killGraceMs ?? 50,
      abandonAfterMs: options.abandonAfterMs ?? 250,
    };
    this.#gate = new FairGate({ lanes: options.lanes ?? availableParallelism() + 1 });
  }

  /** Per-tenant load: entries running in isolates, executions parked on tool calls, entries queued for a lane. */
  load(): SandboxLoad {
    const load = this.#gate.load();
    let parked = 0;
    for (const [tenant, active] of this.#active) {
      const t = (load.tenants[tenant] ??= { running: 0, parked: 0, queued: 0 });
      t.parked = Math.max(0, active - t.running - t.queued);
      parked += t.parked;
    }
    return { ...load, parked };
  }

  /** Isolates V8 lost control of since the engine started (each holds a thread until the process exits). */
  get catastrophicErrors(): number {
    return this.#catastrophes;
  }

  async execute(request: CodeModeRequest): Promise<CodeModeOutcome> {
    if (this.#disposed) throw new Error("V8Engine.execute called after dispose()");
    const started = performance.now();
    const broker = new ToolCallBroker(request);
    await broker.load();
    const run = new IsolateRun(request, broker, {
      gate: this.#gate,
      killGraceMs: this.#options.killGraceMs,
      abandonAfterMs: this.#options.abandonAfterMs,
      onCatastrophicError: (message) => {
        this.#catastrophes += 1;
        this.#options.onCatastrophicError(message);
      },
    });
    const tenant = request.tenant ?? "";
    this.#active.set(tenant, (this.#active.get(tenant) ?? 0) + 1);
    const pending = run.run();
    this.#running.add(pending);
    let end: IsolateRunEnd;
    try {
      end = await pending;
    } finally {
      this.#running.delete(pending);
      const left = (this.#active.get(tenant) ?? 1) - 1;
      if (left > 0) this.#active.set(tenant, left);
      else this.#active.delete(tenant);
    }
    const base = {
      logs: end.logs,
      logsTruncated: end.logsTruncated,
      ...broker.report(),
      usage: { ...end.usage, wallMs: performance.now() - started },
    };
    const fatal = broker.fatalFailure;
    const outcome = fatal !== undefined ? { status: "failed" as const, failure: fatal } : end.outcome;
    if (outcome.status === "succeeded") {
      return { ...base, status: "succeeded", result: JSON.parse(outcome.resultJson) as unknown };
    }
    return { ...base, status: "failed", failure: outcome.failure };
  }

  /** Refuses new executions and waits for running ones (each disposes its own isolate). Idempotent. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    await Promise.allSettled([...this.#running]);
  }
}
