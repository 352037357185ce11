// The JavaScript run once in each fresh context before the user's script: host calls, determinism, timers, outcome.

/** Filename of the bootstrap in stack traces (the shared userStack keeps only the script's frames). */
export const BOOTSTRAP_FILENAME = "mend-bootstrap.js";

/**
 * Global the compiled script calls with its own promise: the host compiles
 * `__mend_track(` + wrapped script + `)` with a negative column offset, so positions stay the user's.
 */
export const TRACK_GLOBAL = "__mend_track";

/** Configuration the bootstrap receives as JSON text (`$2`): only data crosses into the guest. */
export interface GuestConfig {
  seed: number;
  clockMs: number;
  toolNames: string[];
  maxResultBytes: number;
}

/**
 * Tags (first character) of what `step` returns: `R` + result JSON, `L` + the result's UTF-8 size
 * (over `maxResultBytes`), `E` + JSON of a GuestThrow, `P` (pending: not allowed to run a timer),
 * `T` (ran the earliest virtual timer), `N` (pending and no timer left: nothing can settle it).
 */
export type StepTag = "R" | "L" | "E" | "P" | "T" | "N";

/**
 * Source of the closure run by `context.evalClosure(BOOTSTRAP_SOURCE, [callRef, logRef, configJson])`.
 * It returns `control(op, …)` (step the event loop, deliver a tool call), which only the host holds (as References): the guest's
 * global scope gets `tools`, `console`, `setTimeout`/`clearTimeout`, a seeded `Math.random` and a
 * `Date` on the virtual clock, and nothing else new.
 *
 * `$0` (tool calls) and `$1` (console lines) are `ivm.Reference`s to host functions, captured in
 * this closure only, so user code never reaches a `Reference` (GHSA-864f-rcv7-6rh4). Their transfer
 * options are frozen null-prototype objects: a guest that plants `reference`/`externalCopy`/`promise`
 * getters on `Object.prototype` cannot change how values cross. Only strings and numbers cross.
 * The bootstrap is strict code, so stack-trace API callsites never expose its functions or receivers.
 */
export const BOOTSTRAP_SOURCE = String.raw`
"use strict";
const hostCall = $0;
const hostLog = $1;
const config = JSON.parse($2);
const G = globalThis;
const freeze = Object.freeze;
const defineProperty = Object.defineProperty;
const stringify = JSON.stringify;
const parse = JSON.parse;
const ErrorCtor = Error;
const TypeErrorCtor = TypeError;
const PromiseCtor = Promise;
const StringCtor = String;
const Proxy_ = Proxy;
const reflectGet = Reflect.get;
const reflectApply = Reflect.apply;
const promiseThen = Promise.prototype.then;
const copy = freeze({ __proto__: null, copy: true });
const syncOptions = freeze({ __proto__: null, arguments: copy, result: copy });
const hide = (target, key, value) =>
  defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });

// Math.random from the seed (mulberry32).
let seedState = config.seed >>> 0;
hide(Math, "random", function random() {
  seedState = (seedState + 0x6d2b79f5) >>> 0;
  let t = seedState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
});

// Date on the virtual clock: it starts at clockMs and only virtual timers move it.
let clock = config.clockMs;
const RealDate = Date;
const VirtualDate = function Date(...args) {
  if (new.target === undefined) return new RealDate(clock).toString();
  return Reflect.construct(RealDate, args.length === 0 ? [clock] : args, new.target);
};
VirtualDate.prototype = RealDate.prototype;
VirtualDate.now = function now() { return clock; };
VirtualDate.parse = RealDate.parse;
VirtualDate.UTC = RealDate.UTC;
hide(RealDate.prototype, "constructor", VirtualDate);
hide(G, "Date", VirtualDate);

// Virtual timers: run by the host, earliest first, only when no tool call is in flight.
const timers = new Map();
let timerSeq = 0;
hide(G, "setTimeout", function setTimeout(fn, ms, ...args) {
  if (typeof fn !== "function") throw new TypeErrorCtor("setTimeout expects a function");
  const delay = typeof ms === "number" && Number.isFinite(ms) && ms > 0 ? ms : 0;
  const id = ++timerSeq;
  timers.set(id, { due: clock + delay, fn, args });
  return id;
});
hide(G, "clearTimeout", function clearTimeout(id) {
  timers.delete(id);
});

// No WebAssembly: its memories grow outside the heap limit, and the QuickJS engine has none.
delete G.WebAssembly;
// No Atomics: Atomics.wait would block the isolate's thread until the timeout (there is no other thread
// to wake it), and the QuickJS engine has none either.
delete G.Atomics;

// console: formatted like the QuickJS engine, one line per call; the host answers false at the cap.
let logOpen = true;
const formatArg = (value) => {
  switch (typeof value) {
    case "string": return value;
    case "number": case "boolean": case "undefined": return StringCtor(value);
    case "bigint": return StringCtor(value) + "n";
    case "function": return "[Function]";
    case "symbol": return "Symbol()";
  }
  try {
    if (value !== null && typeof value.stack === "string") {
      const name = value.name, message = value.message;
      return (typeof name === "string" ? name : "") + ": " + (typeof message === "string" ? message : "");
    }
    const json = stringify(value);
    return typeof json === "string" ? json : "undefined";
  } catch {
    return "[object]";
  }
};
const consoleObject = {};
for (const level of ["log", "info", "debug", "warn", "error"]) {
  const prefix = level === "warn" || level === "error" ? "[" + level + "] " : "";
  hide(consoleObject, level, function (...args) {
    if (!logOpen) return;
    let line = prefix;
    for (let i = 0; i < args.length; i++) line += (i > 0 ? " " : "") + formatArg(args[i]);
    logOpen = hostLog.applySync(undefined, [line], syncOptions) === true;
  });
}
hide(G, "console", consoleObject);

// tools: dotted names are namespaces; an unknown name still calls the host (→ tool_not_allowed).
const pending = new Map();
let callSeq = 0;
const callTool = (name, args) => {
  let argsJson = "{}";
  if (args !== undefined) {
    const json = stringify(args);
    argsJson = typeof json === "string" ? json : "null";
  }
  const site = new ErrorCtor();
  const callId = ++callSeq;
  let settle;
  const promise = new PromiseCtor((resolve, reject) => { settle = { resolve, reject }; });
  pending.set(callId, { settle, site });
  hostCall.applySync(undefined, [callId, StringCtor(name), argsJson], syncOptions);
  return promise;
};
const RESERVED = new Set(["then", "toJSON", "constructor", "prototype", "valueOf", "toString", "inspect"]);
const namespace = (prefix) =>
  new Proxy_({}, {
    get(target, key, receiver) {
      const value = reflectGet(target, key, receiver);
      if (value !== undefined || typeof key !== "string" || RESERVED.has(key)) return value;
      const name = prefix + key;
      return (args) => callTool(name, args);
    },
  });
const namespaces = new Map([["", namespace("")]]);
const namespaceFor = (prefix) => {
  let ns = namespaces.get(prefix);
  if (ns !== undefined) return ns;
  ns = namespace(prefix);
  namespaces.set(prefix, ns);
  const parts = prefix.slice(0, -1).split(".");
  const last = parts.pop();
  namespaceFor(parts.length > 0 ? parts.join(".") + "." : "")[last] = ns;
  return ns;
};
for (const name of config.toolNames) {
  const dot = name.lastIndexOf(".");
  namespaceFor(dot < 0 ? "" : name.slice(0, dot + 1))[name.slice(dot + 1)] = (args) => callTool(name, args);
}
hide(G, "tools", namespaces.get(""));

// Outcome helpers, shaped like the QuickJS engine's (GuestThrow of ../guest-failures.ts).
const clip = (text) => (text.length > 1000 ? text.slice(0, 1000) + "…" : text);
const utf8Length = (text) => {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) { bytes += 4; i++; }
    else bytes += 3;
  }
  return bytes;
};
const readString = (target, key) => {
  try {
    const value = target[key];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
};
const describe = (thrown) => {
  const type = typeof thrown;
  let out;
  try {
    if (type === "string") out = { kind: "thrown", type, repr: clip(thrown) };
    else if (type === "object" && thrown !== null) {
      const stack = readString(thrown, "stack");
      if (stack !== undefined) {
        const callId = thrown.callId;
        out = { kind: "error", name: readString(thrown, "name") ?? "Error", message: readString(thrown, "message") ?? "", stack };
        if (typeof callId === "number") out.callId = callId;
      } else {
        let repr = "[object]";
        try {
          const json = stringify(thrown);
          if (typeof json === "string") repr = json;
        } catch {}
        out = { kind: "thrown", type, repr: clip(repr) };
      }
    } else if (type === "object") out = { kind: "thrown", type, repr: "null" };
    else if (type === "bigint") out = { kind: "thrown", type, repr: StringCtor(thrown) + "n" };
    else if (type === "function") out = { kind: "thrown", type, repr: "[Function]" };
    else out = { kind: "thrown", type, repr: StringCtor(thrown) };
  } catch {
    out = { kind: "thrown", type, repr: "[unreadable]" };
  }
  return "E" + stringify(out);
};
const notSerialisable = (detail) =>
  "E" + stringify({ kind: "error", name: "TypeError", message: "result is not JSON-serialisable: " + detail, stack: "" });
const encodeResult = (value) => {
  const type = typeof value;
  if (type === "undefined") return "Rnull";
  if (type === "function" || type === "symbol" || type === "bigint") return notSerialisable("a " + type);
  let json;
  try {
    json = stringify(value);
  } catch (error) {
    return notSerialisable(readString(error, "message") ?? "unknown error");
  }
  if (typeof json !== "string") return "Rnull";
  if (json.length > config.maxResultBytes) return "L" + utf8Length(json);
  return "R" + json;
};

// The script is compiled as TRACK_GLOBAL(<wrapped script>). The callee is read before the user's
// code runs, and that first read removes the global: user code never sees it.
let state = "pending";
let settledWith;
const track = function track(promise) {
  reflectApply(promiseThen, promise, [
    (value) => { state = "fulfilled"; settledWith = value; },
    (error) => { state = "rejected"; settledWith = error; },
  ]);
};
defineProperty(G, ${JSON.stringify(TRACK_GLOBAL)}, {
  get() {
    delete G[${JSON.stringify(TRACK_GLOBAL)}];
    return track;
  },
  configurable: true,
  enumerable: false,
});

// The host's handle (a Reference held by the host only): control("step", mayRunTimer) steps the
// event loop, control("deliver", callId, ok, text) settles a tool call.
const step = (mayRunTimer) => {
    if (state === "fulfilled") return encodeResult(settledWith);
    if (state === "rejected") return describe(settledWith);
    if (!mayRunTimer) return "P";
    let bestId = 0;
    let best;
    for (const [id, timer] of timers) if (best === undefined || timer.due < best.due) { best = timer; bestId = id; }
    if (best === undefined) return "N";
    timers.delete(bestId);
    if (best.due > clock) clock = best.due;
    try {
      best.fn(...best.args);
    } catch (error) {
      return describe(error);
    }
    return "T";
};
const deliver = (callId, ok, text) => {
    const call = pending.get(callId);
    if (call === undefined) return;
    pending.delete(callId);
    if (ok) {
      call.settle.resolve(parse(text));
      return;
    }
    const failure = parse(text);
    const error = new ErrorCtor(StringCtor(failure.message));
    error.name = "ToolError";
    error.kind = failure.kind;
    error.tool = typeof failure.tool === "string" ? failure.tool : "";
    error.callId = callId;
    error.failure = failure;
    const siteStack = readString(call.site, "stack") ?? "";
    const frames = siteStack.indexOf("\n");
    error.stack = "ToolError: " + failure.message + (frames < 0 ? "" : siteStack.slice(frames));
    call.settle.reject(error);
};
return function control(op, a, b, c) {
  if (op === "step") return step(a);
  deliver(a, b, c);
};
`;
