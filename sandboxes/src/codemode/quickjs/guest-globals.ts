// Builds a fresh context's code-mode globals from the host (no guest-side prelude to compile): tools, console, timers.
import type { QuickJSContext, QuickJSHandle, VmFunctionImplementation } from "quickjs-emscripten-core";

/** What the globals call back into. */
export interface GlobalsHooks {
  /** A tool function was called: returns the guest promise (or throws a guest error handle). */
  callTool(name: string, args: QuickJSHandle): QuickJSHandle | { error: QuickJSHandle };
  log(text: string): void;
}

interface Timer {
  due: number;
  fn: QuickJSHandle;
  args: QuickJSHandle[];
}

/** Keys a tools namespace never turns into an unknown tool (so `await tools`, JSON and inspection behave). */
const RESERVED = new Set(["then", "toJSON", "constructor", "prototype", "valueOf", "toString", "inspect"]);

/**
 * The guest's `tools`, `console`, `setTimeout`/`clearTimeout` plus the intrinsics the host needs
 * (JSON, Error). Dispose it before the context.
 *
 * - `tools`: nested namespaces for dotted names; an unknown name still yields a function (through a
 *   Proxy, the namespace's prototype, whose trap is a host function) so the call reaches the host and
 *   fails `tool_not_allowed`.
 * - Timers are virtual: `runTimer()` (called by the host when the guest is idle and no tool call is
 *   in flight) runs the earliest one and advances `clockMs` to its due time.
 * - console lines: strings as is, Errors as "Name: message", other values as JSON; `warn`/`error`
 *   are prefixed "[warn] "/"[error] ".
 *
 * @example const globals = new GuestGlobals(ctx, ["echo", "github.search"], hooks, clockMs); ... globals.dispose();
 */
export class GuestGlobals {
  readonly #ctx: QuickJSContext;
  readonly #hooks: GlobalsHooks;
  readonly #owned: QuickJSHandle[] = [];
  readonly #timers = new Map<number, Timer>();
  #timerSeq = 0;
  /** The guest's logical clock (epoch ms). */
  clockMs: number;
  readonly stringify: QuickJSHandle;
  readonly parse: QuickJSHandle;
  readonly errorCtor: QuickJSHandle;

  constructor(ctx: QuickJSContext, tools: string[], hooks: GlobalsHooks, clockMs: number) {
    this.#ctx = ctx;
    this.#hooks = hooks;
    this.clockMs = clockMs;
    const json = this.#own(ctx.getProp(ctx.global, "JSON"));
    this.stringify = this.#own(ctx.getProp(json, "stringify"));
    this.parse = this.#own(ctx.getProp(json, "parse"));
    this.errorCtor = this.#own(ctx.getProp(ctx.global, "Error"));
    this.#installConsole();
    this.#installTimers();
    this.#installTools(tools);
  }

  #own(handle: QuickJSHandle): QuickJSHandle {
    this.#owned.push(handle);
    return handle;
  }

  #setFunction(target: QuickJSHandle, key: string, fn: VmFunctionImplementation<QuickJSHandle>): void {
    const handle = this.#ctx.newFunction(key, fn);
    this.#ctx.setProp(target, key, handle);
    handle.dispose();
  }

  #installConsole(): void {
    const ctx = this.#ctx;
    const consoleObject = ctx.newObject();
    for (const level of ["log", "info", "debug", "warn", "error"]) {
      const prefix = level === "warn" || level === "error" ? `[${level}] ` : "";
      this.#setFunction(consoleObject, level, (...args) => {
        this.#hooks.log(prefix + args.map((arg) => this.format(arg)).join(" "));
      });
    }
    ctx.setProp(ctx.global, "console", consoleObject);
    consoleObject.dispose();
  }

  /** One console argument as text. Runs guest code (toJSON, getters): bounded by the interrupt handler. */
  format(handle: QuickJSHandle): string {
    const ctx = this.#ctx;
    switch (ctx.typeof(handle)) {
      case "string":
        return ctx.getString(handle);
      case "number":
        return String(ctx.getNumber(handle));
      case "undefined":
        return "undefined";
      case "boolean":
        return String(ctx.dump(handle));
      case "bigint":
        return `${ctx.getBigInt(handle)}n`;
      case "function":
        return "[Function]";
      case "symbol":
        return "Symbol()";
    }
    const stack = ctx.getProp(handle, "stack");
    try {
      if (ctx.typeof(stack) === "string")
        return `${this.#text(handle, "name")}: ${this.#text(handle, "message")}`;
    } finally {
      stack.dispose();
    }
    const json = ctx.callFunction(this.stringify, ctx.undefined, handle);
    if (json.error !== undefined) {
      json.error.dispose();
      return "[object]";
    }
    try {
      return ctx.typeof(json.value) === "string" ? ctx.getString(json.value) : "undefined";
    } finally {
      json.value.dispose();
    }
  }

  #text(handle: QuickJSHandle, key: string): string {
    const value = this.#ctx.getProp(handle, key);
    try {
      return this.#ctx.typeof(value) === "string" ? this.#ctx.getString(value) : "";
    } finally {
      value.dispose();
    }
  }

  #installTimers(): void {
    const ctx = this.#ctx;
    this.#setFunction(ctx.global, "setTimeout", (fn, ms, ...rest) => {
      if (fn === undefined || ctx.typeof(fn) !== "function") {
        return { error: ctx.newError({ name: "TypeError", message: "setTimeout expects a function" }) };
      }
      const delay = ms !== undefined && ctx.typeof(ms) === "number" ? ctx.getNumber(ms) : 0;
      const id = ++this.#timerSeq;
      this.#timers.set(id, {
        due: this.clockMs + (Number.isFinite(delay) && delay > 0 ? delay : 0),
        fn: fn.dup(),
        args: rest.map((arg) => arg.dup()),
      });
      return ctx.newNumber(id);
    });
    this.#setFunction(ctx.global, "clearTimeout", (id) => {
      if (id === undefined || ctx.typeof(id) !== "number") return;
      const key = ctx.getNumber(id);
      const timer = this.#timers.get(key);
      if (timer === undefined) return;
      this.#timers.delete(key);
      disposeTimer(timer);
    });
  }

  /**
   * Runs the earliest pending timer, advancing the clock to its due time. Returns false when none
   * is pending, or the guest error handle (caller disposes) if its callback threw.
   */
  runTimer(): boolean | QuickJSHandle {
    let bestId = 0;
    let best: Timer | undefined;
    for (const [id, timer] of this.#timers) {
      if (best === undefined || timer.due < best.due) {
        best = timer;
        bestId = id;
      }
    }
    if (best === undefined) return false;
    this.#timers.delete(bestId);
    if (best.due > this.clockMs) this.clockMs = best.due;
    try {
      const result = this.#ctx.callFunction(best.fn, this.#ctx.undefined, ...best.args);
      if (result.error !== undefined) return result.error;
      result.value.dispose();
      return true;
    } finally {
      disposeTimer(best);
    }
  }

  #installTools(names: string[]): void {
    const ctx = this.#ctx;
    const proxyCtor = ctx.getProp(ctx.global, "Proxy");
    const reflect = ctx.getProp(ctx.global, "Reflect");
    const construct = ctx.getProp(reflect, "construct");
    const namespaces = new Map<string, QuickJSHandle>();
    const namespace = (prefix: string): QuickJSHandle => {
      let handle = namespaces.get(prefix);
      if (handle !== undefined) return handle;
      const target = ctx.newObject();
      const handler = ctx.newObject();
      this.#setFunction(handler, "get", (t, key) => this.#trap(t, key, prefix));
      const args = ctx.newArray();
      ctx.setProp(args, 0, target);
      ctx.setProp(args, 1, handler);
      const proxy = ctx.unwrapResult(ctx.callFunction(construct, ctx.undefined, proxyCtor, args));
      args.dispose();
      handler.dispose();
      target.dispose();
      // The namespace is a plain object over the Proxy: its tools and sub-namespaces are own properties,
      // found without calling into the host; only a name it lacks falls through to the trap.
      handle = ctx.newObject(proxy);
      proxy.dispose();
      namespaces.set(prefix, handle);
      if (prefix !== "") {
        const parts = prefix.slice(0, -1).split(".");
        const last = parts.pop()!;
        ctx.setProp(namespace(parts.length > 0 ? `${parts.join(".")}.` : ""), last, handle);
      }
      return handle;
    };
    try {
      const root = namespace("");
      for (const name of names) {
        const dot = name.lastIndexOf(".");
        const parent = namespace(dot < 0 ? "" : name.slice(0, dot + 1));
        this.#setFunction(parent, name.slice(dot + 1), (args) =>
          this.#hooks.callTool(name, args ?? ctx.undefined),
        );
      }
      ctx.setProp(ctx.global, "tools", root);
    } finally {
      for (const handle of namespaces.values()) handle.dispose();
      construct.dispose();
      reflect.dispose();
      proxyCtor.dispose();
    }
  }

  /** The namespaces' `get` trap (a name the namespace lacks): an inherited member, or a function that calls the unknown tool. */
  #trap(target: QuickJSHandle, key: QuickJSHandle, prefix: string): QuickJSHandle {
    const ctx = this.#ctx;
    const value = ctx.getProp(target, key);
    if (ctx.typeof(value) !== "undefined" || ctx.typeof(key) !== "string") return value;
    const name = ctx.getString(key);
    if (RESERVED.has(name)) return value;
    value.dispose();
    const fullName = prefix + name;
    return ctx.newFunction(fullName, (args) => this.#hooks.callTool(fullName, args ?? ctx.undefined));
  }

  dispose(): void {
    for (const timer of this.#timers.values()) disposeTimer(timer);
    this.#timers.clear();
    for (const handle of this.#owned.splice(0)) handle.dispose();
  }
}

function disposeTimer(timer: Timer): void {
  timer.fn.dispose();
  for (const arg of timer.args) arg.dispose();
}
