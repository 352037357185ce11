// Mend's `random` (seeded) and `time` (the journaled clock) for Python scripts, computed in the child process.
//
// Their state (generator state, virtual time) travels with the interpreter snapshot, so a resumed
// script continues the same sequence. time.sleep never waits: it advances the virtual clock, like the
// JavaScript engines' timers.

/** The state of one execution's modules; small enough to sit in every snapshot header. */
export interface ModuleState {
  /** mulberry32 state (uint32). */
  rng: number;
  /** Virtual time slept since the start, in ms. */
  virtualMs: number;
}

/** A module function's answer: a value for the guest, or an exception to raise there. */
export type ModuleResult = { ok: true; value: unknown } | { ok: false; type: string; message: string };

const raise = (type: string, message: string): ModuleResult => ({ ok: false, type, message });

/** The first generator state for a seed (a journaled integer). */
export function seedState(seed: number): number {
  return hashString(String(Math.trunc(seed)));
}

function hashString(text: string): number {
  // FNV-1a: seeds given as text or numbers map to a well-spread 32-bit state.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** One step of mulberry32: returns the next uint32 and advances the state. */
function next32(state: ModuleState): number {
  state.rng = (state.rng + 0x6d2b79f5) >>> 0;
  let t = state.rng;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** A float in [0, 1) with 53 random bits. */
function nextFloat(state: ModuleState): number {
  const high = next32(state) >>> 5;
  const low = next32(state) >>> 6;
  return (high * 67108864 + low) / 9007199254740992;
}

/** JSON.stringify replacer for seeds: bigints as digits, Maps and Sets as entry lists. */
const jsonSafe = (_key: string, v: unknown): unknown =>
  typeof v === "bigint" ? v.toString() : v instanceof Map || v instanceof Set ? [...v] : v;

const isInt = (v: unknown): v is number | bigint =>
  typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v));

/** An integer in [0, n) for a positive n (number or bigint), without modulo bias. */
function below(state: ModuleState, n: bigint): bigint {
  const bits = n.toString(2).length;
  for (;;) {
    let r = 0n;
    for (let got = 0; got < bits; got += 32) r = (r << 32n) | BigInt(next32(state));
    r &= (1n << BigInt(bits)) - 1n;
    if (r < n) return r;
  }
}

const small = (v: bigint): number | bigint =>
  v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;

function sequence(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v as unknown[];
  if (typeof v === "string") return [...v];
  return undefined;
}

function randomFn(fn: string, args: unknown[], state: ModuleState, seed: number): ModuleResult {
  switch (fn) {
    case "random":
      return { ok: true, value: nextFloat(state) };
    case "uniform": {
      const [a, b] = args;
      if (typeof a !== "number" || typeof b !== "number")
        return raise("TypeError", "uniform() expects two numbers");
      return { ok: true, value: a + (b - a) * nextFloat(state) };
    }
    case "randint":
    case "randrange": {
      if (!args.every(isInt) || args.length === 0 || args.length > (fn === "randint" ? 2 : 3)) {
        return raise("TypeError", `${fn}() expects integer arguments`);
      }
      const ints = args.map((v) => BigInt(v));
      let start: bigint, stop: bigint, step: bigint;
      if (fn === "randint") {
        if (ints.length !== 2) return raise("TypeError", "randint() expects two integers");
        [start, stop, step] = [ints[0]!, ints[1]! + 1n, 1n];
      } else if (ints.length === 1) [start, stop, step] = [0n, ints[0]!, 1n];
      else [start, stop, step] = [ints[0]!, ints[1]!, ints[2] ?? 1n];
      if (step === 0n) return raise("ValueError", "zero step for randrange()");
      const count = step > 0n ? (stop - start + step - 1n) / step : (start - stop - step - 1n) / -step;
      if (count <= 0n) return raise("ValueError", `empty range in ${fn}()`);
      return { ok: true, value: small(start + step * below(state, count)) };
    }
    case "choice": {
      const seq = sequence(args[0]);
      if (seq === undefined) return raise("TypeError", "choice() expects a list, tuple or str");
      if (seq.length === 0) return raise("IndexError", "Cannot choose from an empty sequence");
      return { ok: true, value: seq[Number(below(state, BigInt(seq.length)))] };
    }
    case "sample": {
      const seq = sequence(args[0]);
      const k = args[1];
      if (seq === undefined || !isInt(k))
        return raise("TypeError", "sample() expects a sequence and an integer k");
      const n = Number(k);
      if (n < 0 || n > seq.length) return raise("ValueError", "Sample larger than population or is negative");
      const pool = [...seq];
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) {
        const j = i + Number(below(state, BigInt(pool.length - i)));
        [pool[i], pool[j]] = [pool[j], pool[i]];
        out.push(pool[i]);
      }
      return { ok: true, value: out };
    }
    case "getrandbits": {
      const k = args[0];
      if (!isInt(k) || Number(k) < 0)
        return raise("ValueError", "getrandbits() expects a non-negative integer");
      return { ok: true, value: k === 0 || k === 0n ? 0 : small(below(state, 1n << BigInt(k))) };
    }
    case "seed": {
      const a = args[0];
      state.rng =
        a === undefined || a === null
          ? seedState(seed)
          : hashString(`${typeof a}:${JSON.stringify(a, jsonSafe)}`);
      return { ok: true, value: null };
    }
    case "shuffle":
      return raise(
        "NotImplementedError",
        "random.shuffle cannot reorder a list in place in code-mode; use items = random.sample(items, len(items))",
      );
    default:
      return raise("AttributeError", `module 'random' has no attribute '${fn}'`);
  }
}

function timeFn(fn: string, args: unknown[], state: ModuleState, clockMs: number): ModuleResult {
  const nowMs = clockMs + state.virtualMs;
  switch (fn) {
    case "time":
      return { ok: true, value: nowMs / 1000 };
    case "time_ns":
      return { ok: true, value: BigInt(Math.round(nowMs)) * 1_000_000n };
    case "monotonic":
    case "perf_counter":
      return { ok: true, value: state.virtualMs / 1000 };
    case "monotonic_ns":
    case "perf_counter_ns":
      return { ok: true, value: BigInt(Math.round(state.virtualMs * 1_000_000)) };
    case "sleep": {
      const s = args[0];
      if (typeof s !== "number" && typeof s !== "bigint")
        return raise("TypeError", "sleep() expects a number");
      if (Number(s) < 0) return raise("ValueError", "sleep length must be non-negative");
      state.virtualMs += Number(s) * 1000;
      return { ok: true, value: null };
    }
    default:
      return raise("AttributeError", `module 'time' has no attribute '${fn}'`);
  }
}

/**
 * Runs `module.fn(*args)` of Mend's modules against the execution's state (keyword arguments are
 * refused: these functions take positional ones, as in CPython's common use).
 *
 * @example callModule("random", "randint", [1, 6], {}, state, { seed: 1, clockMs: 0 })
 */
export function callModule(
  module: string,
  fn: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  state: ModuleState,
  context: { seed: number; clockMs: number },
): ModuleResult {
  if (Object.keys(kwargs).length > 0) {
    const named = { randint: ["a", "b"], uniform: ["a", "b"], sample: ["population", "k"], sleep: ["secs"] }[
      fn
    ];
    if (named === undefined || Object.keys(kwargs).some((k) => !named.includes(k))) {
      return raise("TypeError", `${module}.${fn}() got an unexpected keyword argument`);
    }
    args = [...args, ...named.slice(args.length).map((k) => kwargs[k])];
  }
  return module === "random"
    ? randomFn(fn, args, state, context.seed)
    : timeFn(fn, args, state, context.clockMs);
}
