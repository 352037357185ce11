// One execution in a fresh V8 isolate: the host drives its event loop (tool deliveries, virtual timers), then disposes it.
import { createRequire } from "node:module";
import type ivm from "isolated-vm";
import { makeFailure, type Failure } from "@mend/wire";
import type { CodeModeRequest, CodeModeUsage } from "../engine.ts";
import {
  outOfMemoryFailure,
  interruptedFailure,
  outputLimitFailure,
  resultJsonFailure,
  timeoutFailure,
  unsettledFailure,
  type GuestThrow,
} from "../guest-failures.ts";
import { prepareScript } from "../script-source.ts";
import type { ToolCallBroker, ToolCallSettlement } from "../tool-calls.ts";
import { BOOTSTRAP_FILENAME, BOOTSTRAP_SOURCE, TRACK_GLOBAL, type GuestConfig } from "./guest-bootstrap.ts";
import { isIsolateError, isolateErrorFailure, v8UncaughtFailure } from "./failure-mapping.ts";
import { LogSink } from "./log-sink.ts";
import type { FairGate } from "../../fair-share/fair-gate.ts";
import { isolateMemoryLimitMb } from "./memory-limit.ts";

// isolated-vm (a native addon) loads at the first V8 execution, not when the service starts: the engine is
// built with the other services, and loading the addon was ~3 ms of every start's main thread for an engine
// a policy has to choose.
const requireCjs = createRequire(import.meta.url);
let ivmModule: typeof ivm | undefined;
const loadIvm = (): typeof ivm => (ivmModule ??= requireCjs("isolated-vm") as typeof ivm);

/** How one run ended, before the engine adds the broker's report. */
export interface IsolateRunEnd {
  outcome: { status: "succeeded"; resultJson: string } | { status: "failed"; failure: Failure };
  logs: string[];
  logsTruncated: boolean;
  usage: Partial<CodeModeUsage>;
}

/** Host-side knobs of a run. */
export interface IsolateRunOptions {
  /** Called when isolated-vm reports that V8 lost control of the isolate (its thread is lost). */
  onCatastrophicError: (message: string) => void;
  /** Extra time after timeoutMs before the host disposes the isolate from outside. */
  killGraceMs: number;
  /** How long to wait for a disposed isolate's pending call to return before abandoning it. */
  abandonAfterMs: number;
  /** Lanes of V8 CPU shared fairly between tenants: every entry into the isolate holds one. */
  gate: FairGate;
}

type Stop =
  | { kind: "timeout" }
  | { kind: "aborted" }
  | { kind: "logs" }
  | { kind: "fatal"; failure: Failure }
  | { kind: "catastrophe"; message: string };

type Delivery = { callId: number; ok: boolean; text: string; fatal: boolean };
type FnRef = ivm.Reference<(...args: unknown[]) => unknown>;

/**
 * Runs one script: compile, run its synchronous part, then loop — deliver settled tool calls, let
 * the guest report its state, run a virtual timer when nothing is in flight — under `{ timeout }`
 * on every entry into the isolate plus a host timer that disposes it (loops in promise callbacks).
 *
 * @example const end = await new IsolateRun(request, broker, options).run();
 */
export class IsolateRun {
  readonly #request: CodeModeRequest;
  readonly #broker: ToolCallBroker;
  readonly #options: IsolateRunOptions;
  readonly #logs: LogSink;
  readonly #queue: Delivery[] = [];
  #inflight = 0;
  #deadline = 0;
  #stop: Stop | undefined;
  #wake: (() => void) | undefined;
  #abandon: (() => void) | undefined;
  #finished = false;
  #isolate: ivm.Isolate | undefined;
  #killTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(request: CodeModeRequest, broker: ToolCallBroker, options: IsolateRunOptions) {
    this.#request = request;
    this.#broker = broker;
    this.#options = options;
    this.#logs = new LogSink(request.limits.maxLogBytes);
  }

  async run(): Promise<IsolateRunEnd> {
    const { limits, signal } = this.#request;
    const prepared = prepareScript(this.#request.code, this.#request.language);
    if (!prepared.ok) return this.#end({ status: "failed", failure: prepared.failure }, {});
    if (signal?.aborted === true) return this.#end({ status: "failed", failure: interruptedFailure() }, {});
    const { source, filename } = prepared.script;
    const { Isolate, Reference } = loadIvm();
    const isolate = new Isolate({
      memoryLimit: isolateMemoryLimitMb(limits.memoryMb),
      onCatastrophicError: (message) => {
        this.#halt({ kind: "catastrophe", message });
        this.#options.onCatastrophicError(message);
      },
    });
    this.#isolate = isolate;
    this.#deadline = performance.now() + limits.timeoutMs;
    this.#armKill();
    const onAbort = () => this.#halt({ kind: "aborted" });
    signal?.addEventListener("abort", onAbort, { once: true });
    const callRef = new Reference((callId: unknown, tool: unknown, argsJson: unknown) => {
      this.#onCall(Number(callId), String(tool), String(argsJson));
    });
    const logRef = new Reference((line: unknown): boolean => {
      const before = this.#logs.lines.length;
      const open = this.#logs.push(String(line));
      if (this.#logs.lines.length > before) emitLog(this.#request.onLog, this.#logs.lines[before]!);
      if (!open) this.#halt({ kind: "logs" });
      return open;
    });
    const held: { release(): void }[] = [callRef, logRef];
    const usage: Partial<CodeModeUsage> = {};
    try {
      const abandoned = new Promise<{ abandoned: true }>((resolve) => {
        this.#abandon = () => resolve({ abandoned: true });
      });
      const driven = this.#drive(isolate, source, filename, held).then(
        (outcome) => ({ outcome }),
        (error: unknown) => ({ error }),
      );
      const end = await Promise.race([driven, abandoned]);
      readUsage(isolate, usage);
      if (this.#stop !== undefined)
        return this.#end({ status: "failed", failure: this.#stopFailure(this.#stop) }, usage);
      if ("outcome" in end) return this.#end(end.outcome, usage);
      if ("error" in end) {
        const failure = isolateErrorFailure(end.error, filename, limits, isolate.isDisposed);
        return this.#end({ status: "failed", failure }, usage);
      }
      return this.#end({ status: "failed", failure: outOfMemoryFailure(limits) }, usage);
    } finally {
      this.#finished = true;
      clearTimeout(this.#killTimer);
      signal?.removeEventListener("abort", onAbort);
      for (const handle of held) {
        try {
          handle.release();
        } catch {
          // Already released with its disposed isolate.
        }
      }
      kill(isolate);
    }
  }

  async #drive(
    isolate: ivm.Isolate,
    source: string,
    filename: string,
    held: { release(): void }[],
  ): Promise<IsolateRunEnd["outcome"]> {
    const { limits } = this.#request;
    const context = await isolate.createContext();
    held.push(context);
    const config: GuestConfig = {
      seed: this.#request.seed,
      clockMs: this.#request.clockMs,
      toolNames: this.#broker.toolNames,
      maxResultBytes: limits.maxResultBytes,
    };
    const control = (await context.evalClosure(
      BOOTSTRAP_SOURCE,
      [held[0] as ivm.Reference, held[1] as ivm.Reference, JSON.stringify(config)],
      { filename: BOOTSTRAP_FILENAME, timeout: this.#remaining(), result: { reference: true } },
    )) as FnRef;
    held.push(control);
    const prefix = `${TRACK_GLOBAL}(`;
    // The negative column offset keeps line-1 positions the user's. Compile errors propagate.
    const script = await isolate.compileScript(`${prefix}${source})`, {
      filename,
      columnOffset: -prefix.length,
    });
    held.push(script);
    await this.#enter(isolate, () => script.run(context, { timeout: this.#remaining() }));
    for (;;) {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        if (this.#stop !== undefined) break;
        const { callId, ok, text } = next;
        await this.#enter(isolate, () =>
          control.apply(undefined, ["deliver", callId, ok, text], { timeout: this.#remaining() }),
        );
        if (next.fatal) this.#halt({ kind: "fatal", failure: JSON.parse(text) as Failure }, false);
      }
      if (this.#stop !== undefined) return { status: "failed", failure: this.#stopFailure(this.#stop) };
      const mayRunTimer = this.#inflight === 0;
      const reply = await this.#enter(isolate, () =>
        control.apply(undefined, ["step", mayRunTimer], { timeout: this.#remaining() }),
      );
      // No reply: the step ran, but a promise the script left unhandled was reported instead; step again.
      const text = typeof reply === "string" ? reply : "T";
      const payload = text.slice(1);
      switch (text.charAt(0)) {
        case "R": {
          const failure = resultJsonFailure(payload, limits);
          if (failure !== undefined) return { status: "failed", failure };
          return { status: "succeeded", resultJson: payload };
        }
        case "L":
          return { status: "failed", failure: outputLimitFailure("result", limits, Number(payload)) };
        case "E": {
          const thrown = JSON.parse(payload) as GuestThrow;
          const userLines = this.#request.code.split("\n").length;
          const failure = v8UncaughtFailure(thrown, filename, limits, (id) => this.#failureOf(id), userLines);
          return { status: "failed", failure };
        }
        case "N":
          return { status: "failed", failure: unsettledFailure() };
        case "T":
          continue;
        default:
          await this.#waitForWork();
      }
    }
  }

  /**
   * One entry into the isolate. isolated-vm reports a promise the guest left rejected without a
   * handler as the error of whatever task was running (after the task's work is done); the QuickJS
   * engine ignores such promises, so here they are swallowed too. Errors of the isolate itself
   * (timeout, memory, disposal) propagate.
   */
  async #enter(isolate: ivm.Isolate, task: () => Promise<unknown>): Promise<unknown> {
    const { tenant, weight, signal } = this.#request;
    let lease;
    try {
      lease = await this.#options.gate.acquire(tenant ?? "", weight ?? 1, signal);
    } catch {
      this.#halt({ kind: "aborted" });
      throw new Error("the execution was cancelled while it waited for the CPU");
    }
    try {
      // Waiting for a lane (other tenants' turn) is not the script's time.
      if (lease.waitedMs > 0) {
        this.#deadline += lease.waitedMs;
        this.#armKill();
      }
      return await task();
    } catch (error) {
      if (this.#stop !== undefined || isIsolateError(error, isolate.isDisposed)) throw error;
      return undefined;
    } finally {
      lease.release();
    }
  }

  /** (Re)arms the host timer that disposes the isolate once its deadline and the grace are past. */
  #armKill(): void {
    clearTimeout(this.#killTimer);
    const delay = this.#deadline - performance.now() + this.#options.killGraceMs;
    this.#killTimer = setTimeout(() => this.#halt({ kind: "timeout" }), Math.max(0, delay));
  }

  /** The failures delivered to the guest, by call id (a ToolError carries its call id). */
  readonly #failures = new Map<number, Failure>();

  #failureOf(callId: number): Failure | undefined {
    return this.#failures.get(callId);
  }

  #onCall(callId: number, tool: string, argsJson: string): void {
    if (this.#finished) return;
    this.#inflight += 1;
    const settle = (settled: ToolCallSettlement): void => {
      this.#inflight -= 1;
      if (this.#finished) return;
      if (settled.ok) {
        this.#queue.push({ callId, ok: true, text: settled.valueJson, fatal: false });
      } else {
        this.#failures.set(callId, settled.failure);
        this.#queue.push({ callId, ok: false, text: JSON.stringify(settled.failure), fatal: settled.fatal });
      }
      this.#wake?.();
    };
    this.#broker.call(tool, argsJson).then(settle, (error: unknown) =>
      settle({
        ok: false,
        seq: 0,
        fatal: false,
        failure: makeFailure(
          "tool_failed",
          `The tool "${tool}" failed inside the host: ${String(error)}`,
          true,
          { tool },
        ),
      }),
    );
  }

  async #waitForWork(): Promise<void> {
    if (this.#queue.length > 0 || this.#stop !== undefined) return;
    const remaining = this.#deadline - performance.now();
    if (remaining <= 0) {
      this.#halt({ kind: "timeout" }, false);
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(() => {
        this.#halt({ kind: "timeout" }, false);
        resolve();
      }, remaining + 1);
    });
    clearTimeout(timer);
    this.#wake = undefined;
  }

  /** Milliseconds left, for `{ timeout }` (isolated-vm reads 0 as "no timeout"). */
  #remaining(): number {
    const left = Math.ceil(this.#deadline - performance.now());
    if (left <= 0) this.#halt({ kind: "timeout" });
    return Math.max(1, left);
  }

  /** Records why the run stops; unless the loop itself stopped, disposes the isolate (outside any callback). */
  #halt(stop: Stop, dispose = true): void {
    if (this.#finished) return;
    this.#stop ??= stop;
    this.#wake?.();
    if (!dispose) return;
    setImmediate(() => {
      if (this.#isolate !== undefined) kill(this.#isolate);
      // A catastrophic isolate may never return from its current call: stop waiting for it.
      setTimeout(() => this.#abandon?.(), this.#options.abandonAfterMs).unref();
    });
  }

  #stopFailure(stop: Stop): Failure {
    const limits = this.#request.limits;
    switch (stop.kind) {
      case "timeout":
        return timeoutFailure(limits);
      case "aborted":
        return interruptedFailure();
      case "logs":
        return outputLimitFailure("logs", limits);
      case "fatal":
        return stop.failure;
      case "catastrophe":
        if (/terminate/i.test(stop.message)) {
          return timeoutFailure(
            limits,
            undefined,
            " (V8 could not stop the script; its isolate was abandoned)",
          );
        }
        return { ...outOfMemoryFailure(limits), cause: { type: "CatastrophicError", message: stop.message } };
    }
  }

  #end(outcome: IsolateRunEnd["outcome"], usage: Partial<CodeModeUsage>): IsolateRunEnd {
    return { outcome, logs: this.#logs.lines, logsTruncated: this.#logs.truncated, usage };
  }
}

function kill(isolate: ivm.Isolate): void {
  try {
    if (!isolate.isDisposed) isolate.dispose();
  } catch {
    // Disposing twice, or an isolate V8 already gave up on: nothing more to free from here.
  }
}

/** CPU time and heap size, read while the isolate is still alive (best effort). */
function readUsage(isolate: ivm.Isolate, usage: Partial<CodeModeUsage>): void {
  if (isolate.isDisposed) return;
  try {
    usage.cpuMs = Number(isolate.cpuTime) / 1e6;
    const heap = isolate.getHeapStatisticsSync();
    usage.memoryPeakMb =
      Math.round(((heap.total_heap_size + heap.externally_allocated_size) / 2 ** 20) * 10) / 10;
  } catch {
    // Disposed in between: usage stays partial.
  }
}

/** Hands a console line to the live listener; its faults stay outside the guest's execution. */
function emitLog(onLog: ((line: string) => void) | undefined, line: string): void {
  if (!onLog) return;
  try {
    onLog(line);
  } catch {
    // Live output is best effort: the line is in the outcome's logs either way.
  }
}
