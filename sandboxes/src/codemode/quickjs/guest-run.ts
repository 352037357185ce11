// One guest inside a QuickJS worker: a fresh runtime and context, run in slices (start, then one per delivery).
import type { Failure } from "@mend/wire";
import type {
  QuickJSContext,
  QuickJSDeferredPromise,
  QuickJSHandle,
  QuickJSRuntime,
  QuickJSWASMModule,
} from "quickjs-emscripten-core";
import { resultJsonFailure, uncaughtFailure, unsettledFailure, type GuestThrow } from "../guest-failures.ts";
import { prepareScript } from "../script-source.ts";
import { errorStack, toolError } from "./guest-error-handles.ts";
import { GuestGlobals } from "./guest-globals.ts";
import type { GuestHost, SliceEnd } from "./guest-host.ts";
import { evalFailure, stopFailure, type Stop } from "./guest-stop.ts";
import { describeThrown, resultJson } from "./guest-values.ts";
import type { RerunOutcome, SettledCall, StartMessage, WorkerOutcome } from "./protocol.ts";
import { capLine } from "./log-cap.ts";
import { MemoryWatch } from "./memory-watch.ts";
import { argumentsJson, tooDeepArguments } from "./tool-arguments.ts";

export type { GuestHost, SliceEnd } from "./guest-host.ts";

const MiB = 1024 * 1024;
/** How long host-side inspection of a stopped guest (reading an error's stack) may run. */
const INSPECT_MS = 50;
const realDateNow = Date.now;

interface PendingCall {
  deferred: QuickJSDeferredPromise;
  /** An Error made when the guest called, for the call site's stack. */
  site: QuickJSHandle;
}

/**
 * One script in a fresh QuickJS runtime of an already loaded module, run synchronously in slices: `start()`
 * evaluates it, `deliver()` settles tool calls; each returns when the guest awaits tool calls that have
 * not settled (parked: it holds no CPU and the worker runs other guests) or when it is over. The memory
 * limit is QuickJS's own, exact in bytes (see ExactAllocator); the interrupt handler enforces the slice's
 * budget, the host's cancellation and stops a guest whose allocation was refused (MemoryWatch). The guest's
 * clock and Math.random seed come from QuickJS's time source, the worker's `Date.now`, patched during each
 * slice. Host faults (wasm aborts) propagate: the worker reports itself broken.
 *
 * @example const run = new GuestRun(module, start, host); let end = run.start(); end = run.deliver(calls, 1000);
 */
export class GuestRun {
  readonly #module: QuickJSWASMModule;
  readonly #msg: StartMessage;
  readonly #host: GuestHost;
  readonly #pending = new Map<number, PendingCall>();
  readonly #failures = new Map<number, Failure>();
  /** Calls refused inside the guest (never sent to the host), settled at the next turn of its loop. */
  readonly #local: SettledCall[] = [];
  #logs: string[] = [];
  #logBytes = 0;
  #logsTruncated = false;
  #callSeq = 0;
  #deadline = 0;
  #inspectUntil = 0;
  #stop: Stop | undefined;
  #stopStack: string | undefined;
  #thrown: GuestThrow | undefined;
  #runtime: QuickJSRuntime | undefined;
  #context: QuickJSContext | undefined;
  #globals: GuestGlobals | undefined;
  #main: QuickJSHandle | undefined;
  #filename: "script.js" | "script.ts" = "script.js";
  #memory: MemoryWatch | undefined;
  #crash: unknown;

  constructor(module: QuickJSWASMModule, msg: StartMessage, host: GuestHost) {
    this.#module = module;
    this.#msg = msg;
    this.#host = host;
  }

  /** The execution id this guest belongs to. */
  get id(): number {
    return this.#msg.id;
  }

  /** The first host-level fault of this guest (a wasm abort, the host stack exhausted), if any. */
  get crashCause(): unknown {
    return this.#crash;
  }

  /**
   * How much the worker's wasm memory may grow during one of this guest's slices: its memory limit plus
   * allocator slack. Growth beyond it is refused (see worker.ts) and stops the guest.
   */
  get growthAllowanceBytes(): number {
    return this.#msg.limits.memoryMb * MiB * 1.25 + 4 * MiB;
  }

  /** The worker refused to grow the wasm memory for this guest: it stops as out of memory. */
  memoryExceeded(): void {
    this.#stop ??= { kind: "memory" };
  }

  /**
   * The wasm memory, at `workerBytes`, could not grow for this guest, within its allowance and alone in the
   * worker: it filled the worker itself (a fragmented heap), so it stops as out of memory of its own kind.
   */
  workerMemoryExhausted(workerBytes: number): void {
    this.#stop ??= { kind: "worker_memory", workerBytes };
  }

  /**
   * The wasm memory could not grow for this guest although it was within its allowance (the worker's memory,
   * shared with the other guests, is at its maximum): a failed allocation changed what the guest saw, so it
   * stops and the host starts it over on another worker (RerunOutcome).
   */
  workerMemoryFull(): void {
    this.#stop ??= { kind: "worker_full" };
  }

  /** The console lines captured since the last call (the host keeps them; the worker does not). */
  takeLogs(): { logs: string[]; logsTruncated: boolean } {
    const logs = this.#logs;
    this.#logs = [];
    return { logs, logsTruncated: this.#logsTruncated };
  }

  /** Creates the runtime and runs the script until it parks or ends. */
  start(): SliceEnd {
    const { limits, seed, clockMs } = this.#msg;
    const prepared = prepareScript(this.#msg.code, this.#msg.language);
    if (!prepared.ok) return this.#done({ status: "failed", failure: prepared.failure });
    this.#filename = prepared.script.filename;
    this.#deadline = performance.now() + this.#msg.budgetMs;
    return this.#slice(() => {
      // If anything below throws (a wasm abort, the host stack exhausted), nothing is disposed: the
      // module is in an unknown state, the worker reports itself broken and is replaced.
      const runtime = this.#module.newRuntime();
      this.#runtime = runtime;
      // The bound itself: every block is charged its real size (ExactAllocator), checked at each allocation.
      runtime.setMemoryLimit(limits.memoryMb * MiB);
      this.#memory = new MemoryWatch(this.#host.allocator, runtime);
      runtime.setMaxStackSize(limits.stackKb * 1024);
      runtime.setInterruptHandler(() => this.#interrupt());
      runtime.setModuleLoader((name) => ({
        error: new Error(
          `Cannot import "${name}": modules are not available in code-mode; use the tools object.`,
        ),
      }));
      // QuickJS seeds Math.random from the time when the context is made, and reads the time
      // from Date.now through emscripten: the seed, then the logical clock, stand in for it.
      Date.now = () => seed;
      const ctx = runtime.newContext();
      this.#context = ctx;
      const globals = new GuestGlobals(ctx, this.#msg.tools, this.#hooks(ctx), clockMs);
      this.#globals = globals;
      Date.now = () => globals.clockMs;
      const evaluated = ctx.evalCode(prepared.script.source, prepared.script.filename);
      if (evaluated.error !== undefined) {
        const error = this.#inspect(() => ctx.dump(evaluated.error) as unknown);
        this.#noteStack(ctx, evaluated.error);
        evaluated.error.dispose();
        return { status: "failed", failure: this.#evalFailure(error) };
      }
      this.#main = evaluated.value;
      return this.#advance();
    });
  }

  /** Settles tool calls and runs the guest until it parks again or ends. */
  deliver(calls: SettledCall[], budgetMs: number): SliceEnd {
    this.#deadline = performance.now() + budgetMs;
    return this.#slice(() => {
      for (const call of calls) this.#settle(call);
      return this.#advance();
    });
  }

  /**
   * Disposes the guest without running it again (after its last slice, or parked and no longer wanted);
   * false when QuickJS refused (the module is suspect).
   */
  drop(): boolean {
    return this.#dispose();
  }

  /** Runs one slice with the guest's clock in place; an outcome ends the guest. */
  #slice(body: () => WorkerOutcome | undefined): SliceEnd {
    let outcome: WorkerOutcome | undefined;
    this.#memory?.resume();
    const globals = this.#globals;
    if (globals !== undefined) Date.now = () => globals.clockMs;
    try {
      outcome = body();
      // Whatever the guest made of an allocation its worker's full memory failed (caught it, parked,
      // returned) is not its outcome: it starts over elsewhere.
      if (this.#stop?.kind === "worker_full")
        return this.#done({ status: "rerun", reason: "the worker's wasm memory is full" });
      // A refused allocation ends the guest even when it caught the error and went on (or returned).
      const refused = this.#memory?.check() === true;
      if (refused && (outcome?.status !== "failed" || outcome.failure.kind !== "out_of_memory")) {
        outcome = { status: "failed", failure: this.#stopFailure({ kind: "memory" }) };
      }
    } catch (error) {
      this.#crash ??= error;
      throw error;
    } finally {
      Date.now = realDateNow;
    }
    if (outcome === undefined) return { kind: "parked", memoryBytes: this.#memory?.usedBytes ?? 0 };
    return this.#done(outcome);
  }

  #done(outcome: WorkerOutcome | RerunOutcome): SliceEnd {
    // The peak: what the guest holds at its end is often nothing (an out-of-memory guest has unwound).
    return { kind: "done", outcome, memoryBytes: this.#memory?.peakBytes ?? 0 };
  }

  /** Frees every handle, the context and the runtime; false when QuickJS refused (the module is suspect). */
  #dispose(): boolean {
    try {
      for (const { deferred, site } of this.#pending.values()) {
        site.dispose();
        deferred.dispose();
      }
      this.#pending.clear();
      this.#main?.dispose();
      this.#main = undefined;
      this.#globals?.dispose();
      this.#globals = undefined;
      this.#context?.dispose();
      this.#context = undefined;
      this.#runtime?.dispose();
      this.#runtime = undefined;
      return true;
    } catch {
      return false;
    }
  }

  /** Delivers one settled tool call to the guest (ignored when the guest no longer waits for it). */
  #settle(msg: SettledCall): void {
    const pending = this.#pending.get(msg.callId);
    const ctx = this.#context;
    const globals = this.#globals;
    if (pending === undefined || ctx === undefined || globals === undefined) return;
    this.#pending.delete(msg.callId);
    const { deferred, site } = pending;
    try {
      if (msg.ok) {
        const text = ctx.newString(msg.json);
        const parsed = ctx.callFunction(globals.parse, ctx.undefined, text);
        text.dispose();
        if (parsed.error === undefined) deferred.resolve(parsed.value);
        else deferred.reject(parsed.error);
        parsed.dispose();
      } else {
        this.#failures.set(msg.callId, msg.failure);
        if (msg.fatal) this.#stop ??= { kind: "fatal", failure: msg.failure };
        const error = toolError(ctx, globals.parse, msg.callId, msg.failure, site);
        deferred.reject(error);
        error.dispose();
      }
    } finally {
      site.dispose();
      deferred.dispose();
    }
  }

  #hooks(ctx: QuickJSContext) {
    return {
      callTool: (name: string, args: QuickJSHandle): QuickJSHandle | { error: QuickJSHandle } => {
        const globals = this.#globals!;
        const json = argumentsJson(ctx, globals.stringify, args);
        if ("error" in json) return { error: json.error };
        const site = ctx.unwrapResult(ctx.callFunction(globals.errorCtor, ctx.undefined));
        const callId = ++this.#callSeq;
        const deferred = ctx.newPromise();
        this.#pending.set(callId, { deferred, site });
        if ("tooDeep" in json)
          this.#local.push({ callId, ok: false, failure: tooDeepArguments(name), fatal: false });
        else this.#host.call(this.#msg.id, { callId, tool: name, argsJson: json.json });
        return deferred.handle;
      },
      log: (text: string): void => this.#log(text),
    };
  }

  #interrupt(): boolean {
    const now = performance.now();
    this.#host.poll(now);
    if (this.#inspectUntil > 0) return now > this.#inspectUntil;
    if (this.#stop !== undefined) return true;
    if (this.#host.abortRequested(this.#msg.id)) {
      this.#stop = { kind: "aborted" };
      return true;
    }
    if (now > this.#deadline) {
      this.#stop = { kind: "timeout" };
      return true;
    }
    if (this.#memory?.check() === true) {
      this.#stop = { kind: "memory" };
      return true;
    }
    return false;
  }

  /** Runs jobs, timers and the script's promise until it ends (an outcome) or parks (undefined). */
  #advance(): WorkerOutcome | undefined {
    const ctx = this.#context!;
    const globals = this.#globals!;
    const runtime = this.#runtime!;
    const main = this.#main!;
    for (;;) {
      this.#drain(runtime, ctx);
      if (this.#stop !== undefined) break;
      const state = ctx.getPromiseState(main);
      if (state.type === "fulfilled") {
        // Serialised under the normal deadline: toJSON and getters are guest code.
        const json = resultJson(ctx, globals.stringify, state.value);
        state.value.dispose();
        if (this.#stop !== undefined) break;
        if (json.ok) return this.#succeeded(json.json);
        this.#thrown = json.thrown;
        break;
      }
      if (state.type === "rejected") {
        this.#thrown = describeThrown(ctx, globals.stringify, state.error);
        this.#noteStack(ctx, state.error);
        state.error.dispose();
        break;
      }
      if (this.#thrown !== undefined) break;
      if (this.#local.length > 0) {
        for (const call of this.#local.splice(0)) this.#settle(call);
        continue;
      }
      if (this.#pending.size > 0) return undefined;
      const ran = globals.runTimer();
      if (ran === false) return { status: "failed", failure: unsettledFailure() };
      if (ran !== true) {
        this.#thrown = describeThrown(ctx, globals.stringify, ran);
        this.#noteStack(ctx, ran);
        ran.dispose();
      }
    }
    if (this.#stop !== undefined) return { status: "failed", failure: this.#stopFailure(this.#stop) };
    return { status: "failed", failure: this.#thrownFailure(this.#thrown!) };
  }

  #succeeded(json: string): WorkerOutcome {
    const failure = resultJsonFailure(json, this.#msg.limits);
    if (failure !== undefined) return { status: "failed", failure };
    return { status: "succeeded", resultJson: json };
  }

  #log(text: string): void {
    if (this.#logsTruncated) return;
    const capped = capLine(text, this.#logBytes, this.#msg.limits.maxLogBytes);
    if (capped.line !== undefined) this.#logs.push(capped.line);
    this.#logBytes = capped.bytes;
    if (!capped.truncated) return;
    this.#logsTruncated = true;
    this.#stop ??= { kind: "logs" };
  }

  /**
   * Runs the guest's pending jobs. One call is enough: with no maximum, QuickJS runs jobs (and the jobs they
   * enqueue) until the queue is empty or one throws; a second call would only find it empty.
   */
  #drain(runtime: QuickJSRuntime, ctx: QuickJSContext): void {
    const result = runtime.executePendingJobs();
    if (result.error !== undefined) {
      // Promise jobs turn exceptions into rejections: what escapes is uncatchable (interrupt, OOM).
      this.#thrown ??= describeThrown(ctx, this.#globals!.stringify, result.error);
      this.#noteStack(ctx, result.error);
      result.error.dispose();
      return;
    }
    result.dispose();
  }

  /** Reads guest values for the host with the interrupt handler relaxed (a stopped guest stays bounded). */
  #inspect<T>(read: () => T): T {
    this.#inspectUntil = performance.now() + INSPECT_MS;
    try {
      return read();
    } finally {
      this.#inspectUntil = 0;
    }
  }

  /** Remembers where the guest was when the first uncaught or uncatchable error escaped. */
  #noteStack(ctx: QuickJSContext, error: QuickJSHandle): void {
    if (this.#stopStack !== undefined) return;
    this.#stopStack = this.#inspect(() => errorStack(ctx, error));
  }

  #stopFailure(stop: Stop): Failure {
    return stopFailure(stop, this.#stopStack, this.#filename, this.#msg.limits);
  }

  #thrownFailure(thrown: GuestThrow): Failure {
    return uncaughtFailure(thrown, this.#filename, this.#msg.limits, (id) => this.#failures.get(id));
  }

  #evalFailure(error: unknown): Failure {
    if (this.#stop !== undefined) return this.#stopFailure(this.#stop);
    return evalFailure(error, this.#filename, this.#msg.limits, (thrown) => this.#thrownFailure(thrown));
  }
}
