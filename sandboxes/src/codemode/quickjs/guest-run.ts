// One execution inside a QuickJS worker: a fresh runtime and context, host-driven jobs, every handle disposed.
import type { Failure } from "@mend/wire";
import type {
  QuickJSContext,
  QuickJSDeferredPromise,
  QuickJSHandle,
  QuickJSRuntime,
  QuickJSWASMModule,
} from "quickjs-emscripten-core";
import {
  outOfMemoryFailure,
  outputLimitFailure,
  stackOverflowFailure,
  syntaxFailure,
  timeoutFailure,
  uncaughtFailure,
  unsettledFailure,
  userStack,
  type GuestThrow,
} from "../guest-failures.ts";
import { prepareScript } from "../script-source.ts";
import { GuestGlobals } from "./guest-globals.ts";
import { describeThrown, resultJson } from "./guest-values.ts";
import type { CallMessage, RunMessage, SettleMessage, WorkerOutcome } from "./protocol.ts";

const MiB = 1024 * 1024;
/** How long host-side inspection of a stopped guest (reading an error's stack) may run. */
const INSPECT_MS = 50;
const realDateNow = Date.now;

type Stop = { kind: "timeout" } | { kind: "logs" } | { kind: "fatal"; failure: Failure };

/** The end of one run, before the worker wraps it into a DoneMessage. */
export interface GuestRunResult {
  outcome: WorkerOutcome;
  logs: string[];
  logsTruncated: boolean;
  /** The QuickJS runtime could not be disposed cleanly: the module must not be reused. */
  tainted: boolean;
}

interface PendingCall {
  deferred: QuickJSDeferredPromise;
  /** An Error made when the guest called, for the call site's stack. */
  site: QuickJSHandle;
}

/**
 * Runs one script in a fresh QuickJS runtime of an already loaded module. Tool calls leave through
 * `send` and come back through `settle`; the deadline is enforced by the interrupt handler (tight
 * loops, promise callbacks) and while waiting for tool calls. The guest's clock and Math.random
 * seed come from QuickJS's time source, which is the worker's `Date.now` (patched for the run).
 * Host faults (wasm aborts) propagate: the worker reports them and is replaced.
 *
 * @example const result = await new GuestRun(module, runMessage, (m) => parentPort.postMessage(m)).run();
 */
export class GuestRun {
  readonly #module: QuickJSWASMModule;
  readonly #msg: RunMessage;
  readonly #send: (message: CallMessage) => void;
  readonly #pending = new Map<number, PendingCall>();
  readonly #failures = new Map<number, Failure>();
  readonly #logs: string[] = [];
  #logBytes = 0;
  #logsTruncated = false;
  #callSeq = 0;
  #deadline = 0;
  #inspectUntil = 0;
  #stop: Stop | undefined;
  #stopStack: string | undefined;
  #thrown: GuestThrow | undefined;
  #wake: (() => void) | undefined;
  #context: QuickJSContext | undefined;
  #globals: GuestGlobals | undefined;
  #crash: unknown;

  constructor(module: QuickJSWASMModule, msg: RunMessage, send: (message: CallMessage) => void) {
    this.#module = module;
    this.#msg = msg;
    this.#send = send;
  }

  /** The execution id this run belongs to. */
  get id(): number {
    return this.#msg.id;
  }

  /** The console lines captured so far (kept when the worker crashes). */
  get logs(): { logs: string[]; logsTruncated: boolean } {
    return { logs: this.#logs, logsTruncated: this.#logsTruncated };
  }

  /** The first host-level fault of this run (a wasm abort, the host stack exhausted), if any. */
  get crashCause(): unknown {
    return this.#crash;
  }

  /** Delivers a settled tool call to the guest (ignored once the run is over). */
  settle(msg: SettleMessage): void {
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
        const error = this.#toolError(ctx, globals, msg.callId, msg.failure, site);
        deferred.reject(error);
        error.dispose();
      }
    } finally {
      site.dispose();
      deferred.dispose();
    }
    this.#wake?.();
  }

  /** A guest Error named ToolError with `kind`, `tool`, `failure` (plain JSON) and the call site's stack. */
  #toolError(
    ctx: QuickJSContext,
    globals: GuestGlobals,
    callId: number,
    failure: Failure,
    site: QuickJSHandle,
  ) {
    const error = ctx.newError({ name: "ToolError", message: failure.message });
    const set = (key: string, value: QuickJSHandle): void => {
      ctx.setProp(error, key, value);
      value.dispose();
    };
    set("kind", ctx.newString(failure.kind));
    set("tool", ctx.newString(typeof failure.tool === "string" ? failure.tool : ""));
    set("callId", ctx.newNumber(callId));
    const text = ctx.newString(JSON.stringify(failure));
    const parsed = ctx.callFunction(globals.parse, ctx.undefined, text);
    text.dispose();
    if (parsed.error === undefined) set("failure", parsed.value);
    else parsed.error.dispose();
    set("stack", ctx.getProp(site, "stack"));
    return error;
  }

  /** Runs the script to its end. */
  async run(): Promise<GuestRunResult> {
    const { limits, seed, clockMs } = this.#msg;
    const prepared = prepareScript(this.#msg.code, this.#msg.language);
    if (!prepared.ok) return this.#result({ status: "failed", failure: prepared.failure }, false);
    this.#deadline = performance.now() + limits.timeoutMs;
    // If anything below throws (a wasm abort, the host stack exhausted), nothing is disposed: the
    // module is in an unknown state, the worker reports the crash and is replaced with its memory.
    const runtime = this.#module.newRuntime();
    runtime.setMemoryLimit(limits.memoryMb * MiB);
    runtime.setMaxStackSize(limits.stackKb * 1024);
    runtime.setInterruptHandler(() => this.#interrupt());
    runtime.setModuleLoader((name) => ({
      error: new Error(
        `Cannot import "${name}": modules are not available in code-mode; use the tools object.`,
      ),
    }));
    let outcome: WorkerOutcome;
    try {
      // QuickJS seeds Math.random from the time when the context is made, and reads the time
      // from Date.now through emscripten: the seed, then the logical clock, stand in for it.
      Date.now = () => seed;
      const ctx = runtime.newContext();
      this.#context = ctx;
      const globals = new GuestGlobals(ctx, this.#msg.tools, this.#hooks(ctx), clockMs);
      this.#globals = globals;
      Date.now = () => globals.clockMs;
      outcome = await this.#runIn(runtime, ctx, globals, prepared.script.source, prepared.script.filename);
    } catch (error) {
      this.#crash ??= error;
      throw error;
    } finally {
      Date.now = realDateNow;
    }
    try {
      for (const { deferred, site } of this.#pending.values()) {
        site.dispose();
        deferred.dispose();
      }
      this.#pending.clear();
      this.#globals.dispose();
      this.#context.dispose();
      this.#context = undefined;
      runtime.dispose();
      return this.#result(outcome, false);
    } catch {
      return this.#result(outcome, true);
    }
  }

  #result(outcome: WorkerOutcome, tainted: boolean): GuestRunResult {
    return { outcome, logs: this.#logs, logsTruncated: this.#logsTruncated, tainted };
  }

  #hooks(ctx: QuickJSContext) {
    return {
      callTool: (name: string, args: QuickJSHandle): QuickJSHandle | { error: QuickJSHandle } => {
        const globals = this.#globals!;
        let argsJson = "{}";
        if (ctx.typeof(args) !== "undefined") {
          const json = ctx.callFunction(globals.stringify, ctx.undefined, args);
          if (json.error !== undefined) return { error: json.error };
          argsJson = ctx.typeof(json.value) === "string" ? ctx.getString(json.value) : "null";
          json.value.dispose();
        }
        const site = ctx.unwrapResult(ctx.callFunction(globals.errorCtor, ctx.undefined));
        const callId = ++this.#callSeq;
        const deferred = ctx.newPromise();
        this.#pending.set(callId, { deferred, site });
        this.#send({ type: "call", id: this.#msg.id, callId, tool: name, argsJson });
        return deferred.handle;
      },
      log: (text: string): void => this.#log(text),
    };
  }

  #interrupt(): boolean {
    const now = performance.now();
    if (this.#inspectUntil > 0) return now > this.#inspectUntil;
    if (this.#stop !== undefined) return true;
    if (now > this.#deadline) {
      this.#stop = { kind: "timeout" };
      return true;
    }
    return false;
  }

  async #runIn(
    runtime: QuickJSRuntime,
    ctx: QuickJSContext,
    globals: GuestGlobals,
    source: string,
    filename: string,
  ): Promise<WorkerOutcome> {
    const evaluated = ctx.evalCode(source, filename);
    if (evaluated.error !== undefined) {
      const error = this.#inspect(() => ctx.dump(evaluated.error) as unknown);
      this.#noteStack(ctx, evaluated.error);
      evaluated.error.dispose();
      return { status: "failed", failure: this.#evalFailure(error, filename) };
    }
    const main = evaluated.value;
    try {
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
        if (this.#pending.size > 0) {
          await this.#waitForSettle();
          continue;
        }
        const ran = globals.runTimer();
        if (ran === false) return { status: "failed", failure: unsettledFailure() };
        if (ran !== true) {
          this.#thrown = describeThrown(ctx, globals.stringify, ran);
          this.#noteStack(ctx, ran);
          ran.dispose();
        }
      }
      if (this.#stop !== undefined)
        return { status: "failed", failure: this.#stopFailure(this.#stop, filename) };
      return { status: "failed", failure: this.#thrownFailure(this.#thrown!, filename) };
    } finally {
      main.dispose();
    }
  }

  #succeeded(json: string): WorkerOutcome {
    const limits = this.#msg.limits;
    const bytes = Buffer.byteLength(json);
    if (bytes > limits.maxResultBytes)
      return { status: "failed", failure: outputLimitFailure("result", limits, bytes) };
    return { status: "succeeded", resultJson: json };
  }

  #log(text: string): void {
    if (this.#logsTruncated) return;
    const cap = this.#msg.limits.maxLogBytes;
    const bytes = Buffer.byteLength(text);
    if (this.#logBytes + bytes <= cap) {
      this.#logs.push(text);
      this.#logBytes += bytes;
      return;
    }
    const room = cap - this.#logBytes;
    if (room > 0) this.#logs.push(Buffer.from(text).subarray(0, room).toString());
    this.#logBytes = cap;
    this.#logsTruncated = true;
    this.#stop ??= { kind: "logs" };
  }

  #drain(runtime: QuickJSRuntime, ctx: QuickJSContext): void {
    for (;;) {
      const result = runtime.executePendingJobs();
      if (result.error !== undefined) {
        // Promise jobs turn exceptions into rejections: what escapes is uncatchable (interrupt, OOM).
        this.#thrown ??= describeThrown(ctx, this.#globals!.stringify, result.error);
        this.#noteStack(ctx, result.error);
        result.error.dispose();
        return;
      }
      const executed = result.value;
      result.dispose();
      if (executed === 0 || this.#stop !== undefined) return;
    }
  }

  async #waitForSettle(): Promise<void> {
    const remaining = this.#deadline - performance.now();
    if (remaining <= 0) {
      this.#stop ??= { kind: "timeout" };
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(() => {
        this.#stop ??= { kind: "timeout" };
        resolve();
      }, remaining + 1);
    });
    clearTimeout(timer);
    this.#wake = undefined;
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
    this.#stopStack = this.#inspect(() => {
      if (ctx.typeof(error) !== "object") return undefined;
      const stack = ctx.getProp(error, "stack");
      try {
        return ctx.typeof(stack) === "string" ? ctx.getString(stack) : undefined;
      } finally {
        stack.dispose();
      }
    });
  }

  #stopFailure(stop: Stop, filename: string): Failure {
    const { location } = userStack(this.#stopStack ?? "", filename);
    const limits = this.#msg.limits;
    if (stop.kind === "timeout") return timeoutFailure(limits, location);
    if (stop.kind === "logs") return outputLimitFailure("logs", limits, undefined, location);
    return stop.failure;
  }

  #thrownFailure(thrown: GuestThrow, filename: string): Failure {
    return uncaughtFailure(thrown, filename, this.#msg.limits, (id) => this.#failures.get(id));
  }

  #evalFailure(error: unknown, filename: string): Failure {
    if (this.#stop !== undefined) return this.#stopFailure(this.#stop, filename);
    const e = (error ?? {}) as { name?: unknown; message?: unknown; stack?: unknown };
    const name = typeof e.name === "string" ? e.name : "Error";
    const message = typeof e.message === "string" ? e.message : JSON.stringify(error);
    const stack = typeof e.stack === "string" ? e.stack : "";
    const limits = this.#msg.limits;
    if (name === "SyntaxError") return syntaxFailure(message, stack, filename);
    if (error === null || message === "out of memory")
      return outOfMemoryFailure(limits, userStack(stack, filename).location);
    if (message === "stack overflow")
      return stackOverflowFailure(limits, userStack(stack, filename).location);
    return this.#thrownFailure({ kind: "error", name, message, stack }, filename);
  }
}
