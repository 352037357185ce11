// Warm pool: containers created, attached and started ahead of time, each serving exactly one job; its
// size per key adapts to demand (PoolSizing) within an operator maximum and a memory budget.
import type { ReadyContainer } from "./container-session.ts";
import { PoolSizing, type PoolKeyStats } from "./pool-sizing.ts";
import type { BurstHold } from "./burst-hold.ts";

export type { PoolKeyStats } from "./pool-sizing.ts";

export interface PoolEntrySpec {
  /** Pool key (image + limits class + runtime, see limitsClass). */
  key: string;
  /** Containers kept ready however idle the key is. */
  size: number;
  /** The most the key grows to while misses show demand; default `size` (a fixed pool). */
  max?: number;
  create: () => Promise<ReadyContainer>;
}

export interface WarmPoolOptions {
  /** A window this long without a miss lets a grown key shrink back (default 60 s). */
  idleMs?: number;
  /** Memory all idle containers may hold together, bytes; growth stops there (minimums are always kept). */
  memoryBudgetBytes?: number;
  /** Containers created for the pool at once, over all keys (default 2): refills never flood the engine. */
  refills?: number;
  /** Memory one idle container holds now, bytes (its cgroup); undefined when it cannot be read. */
  measure?: (c: ReadyContainer) => Promise<number | undefined>;
  /** How often sizes are re-evaluated and idle containers measured, ms (default 1 s, at most idleMs / 2). */
  tickMs?: number;
  /**
   * How long after a take refills start, ms (default 100): the jobs of a burst run before the engine and
   * the CPU are busy creating their replacements. 0 refills at once.
   */
  refillDelayMs?: number;
  /**
   * The engine's jobs in flight: refills wait until none is (a burst has drained), `holdMaxMs` at most,
   * so they never compete with the burst's own jobs. Absent: refills do not wait.
   */
  hold?: BurstHold;
  /** The longest refills wait for `hold` to be quiet, ms (default 500). */
  holdMaxMs?: number;
}

/** Assumed memory of an idle container before any was measured (python's launcher holds ~11 MiB). */
const UNMEASURED_BYTES = 32 * 1024 * 1024;
const MEASURE_EVERY_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

interface KeyState {
  spec: PoolEntrySpec;
  sizing: PoolSizing;
  idle: ReadyContainer[];
  creating: number;
  backoffMs: number;
  retryAt: number;
  /** Last measured bytes of idle containers, and when. */
  memory: Map<ReadyContainer, { bytes: number; at: number }>;
  /** Running mean of measured idle containers of this key. */
  meanBytes: number | undefined;
}

/**
 * Keeps started containers per key; `take` hands one out (never twice), `release` tells the pool the job
 * ended (demand), and the pool refills in the background, at most `refills` creations at once, the key
 * furthest below its target first. Creation errors back off per key instead of spinning; a miss returns
 * undefined (and makes the key grow). A container that dies while idle is replaced.
 * @example
 * const pool = new WarmPool([{ key, size: 2, max: 8, create: () => startContainer(docker, spec) }], discard);
 * pool.start(); const ready = pool.take(key) ?? (await startContainer(docker, spec)); …; pool.release(key);
 */
export class WarmPool {
  readonly #keys = new Map<string, KeyState>();
  readonly #discard: (c: ReadyContainer) => void;
  readonly #fills = new Set<Promise<void>>();
  readonly #refills: number;
  readonly #budget: number;
  readonly #measure: ((c: ReadyContainer) => Promise<number | undefined>) | undefined;
  readonly #tickMs: number;
  readonly #refillDelayMs: number;
  readonly #hold: BurstHold | undefined;
  readonly #holdMaxMs: number;
  #refillTimer: NodeJS.Timeout | undefined;
  /** A pump waits for the hold to be quiet. */
  #holding = false;
  #creating = 0;
  #timer: NodeJS.Timeout | undefined;
  #measuring = false;
  #started = false;
  #disposed = false;

  constructor(specs: PoolEntrySpec[], discard: (c: ReadyContainer) => void, options: WarmPoolOptions = {}) {
    const idleMs = options.idleMs ?? 60_000;
    const now = Date.now();
    for (const spec of specs) {
      if (!(spec.size > 0)) continue;
      const sizing = new PoolSizing({ min: spec.size, max: spec.max ?? spec.size, idleMs }, now);
      this.#keys.set(spec.key, {
        spec,
        sizing,
        idle: [],
        creating: 0,
        backoffMs: 250,
        retryAt: 0,
        memory: new Map(),
        meanBytes: undefined,
      });
    }
    this.#discard = discard;
    this.#refills = Math.max(1, options.refills ?? 2);
    this.#budget = options.memoryBudgetBytes ?? Infinity;
    this.#measure = options.measure;
    this.#tickMs = Math.max(10, Math.min(options.tickMs ?? 1000, idleMs / 2));
    this.#refillDelayMs = Math.max(0, options.refillDelayMs ?? 100);
    this.#hold = options.hold;
    this.#holdMaxMs = Math.max(0, options.holdMaxMs ?? 500);
  }

  start(): void {
    if (this.#started || this.#disposed || this.#keys.size === 0) return;
    this.#started = true;
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
    this.#timer.unref();
    this.#pump();
  }

  /** Number of idle, live containers for a key. */
  idleCount(key: string): number {
    return (this.#keys.get(key)?.idle ?? []).filter((c) => c.isAlive() && !c.used).length;
  }

  /** Idle, live containers per image (the part of the key before the limits class). */
  idleByImage(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of this.#keys.keys()) {
      const image = key.split("|")[0]!;
      out[image] = (out[image] ?? 0) + this.idleCount(key);
    }
    return out;
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  /** A warm container for a job of `key`, or undefined (a miss: the key grows). Pair with release(key). */
  take(key: string): ReadyContainer | undefined {
    const s = this.#keys.get(key);
    if (s === undefined) return undefined;
    let found: ReadyContainer | undefined;
    while (!this.#disposed && s.idle.length > 0 && found === undefined) {
      const c = s.idle.shift()!;
      s.memory.delete(c);
      if (c.isAlive() && !c.used) found = c;
      else this.#discard(c);
    }
    s.sizing.onTake(found !== undefined, this.#allowed(s));
    this.#pumpSoon();
    return found;
  }

  /** The job of a take(key) ended (warm or cold): the demand the key's size follows. */
  release(key: string): void {
    this.#keys.get(key)?.sizing.onRelease();
  }

  /** Every key's size, demand and memory. */
  stats(): PoolKeyStats[] {
    return [...this.#keys.values()].map((s) => {
      let memoryBytes = 0;
      for (const m of s.memory.values()) memoryBytes += m.bytes;
      // a container made since the last measurement counts as the mean of its key
      const unmeasured = s.idle.filter((c) => !s.memory.has(c)).length;
      memoryBytes += Math.round(unmeasured * (s.meanBytes ?? 0));
      const { min, max } = s.sizing.bounds;
      return {
        key: s.spec.key,
        min,
        max,
        target: s.sizing.target,
        idle: this.idleCount(s.spec.key),
        creating: s.creating,
        inUse: s.sizing.inUse,
        hits: s.sizing.hits,
        misses: s.sizing.misses,
        memoryBytes,
        ...(s.meanBytes === undefined ? {} : { memoryPerContainerBytes: Math.round(s.meanBytes) }),
      };
    });
  }

  /** Resolves once every key holds its target (or the time is up); for tests and benchmarks. */
  async whenFull(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.#disposed) {
      const full = [...this.#keys.values()].every((s) => this.idleCount(s.spec.key) >= s.sizing.target);
      if (full) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops refilling and returns every idle container to `discard`. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#refillTimer);
    await Promise.allSettled([...this.#fills]);
    for (const s of this.#keys.values()) {
      for (const c of s.idle.splice(0)) this.#discard(c);
      s.memory.clear();
    }
  }

  /** The most containers the memory budget lets this key target now (never less than it has). */
  #allowed(s: KeyState): number {
    if (this.#budget === Infinity) return Infinity;
    let others = 0;
    for (const o of this.#keys.values()) if (o !== s) others += o.sizing.target * this.#bytesOf(o);
    return Math.max(s.sizing.target, Math.floor((this.#budget - others) / this.#bytesOf(s)));
  }

  #bytesOf(s: KeyState): number {
    if (s.meanBytes !== undefined && s.meanBytes > 0) return s.meanBytes;
    for (const o of this.#keys.values()) if (o.meanBytes !== undefined && o.meanBytes > 0) return o.meanBytes;
    return UNMEASURED_BYTES;
  }

  /** Pumps once the refill delay has passed since the first take not yet refilled for (and the hold is quiet). */
  #pumpSoon(): void {
    if (this.#refillDelayMs === 0) return this.#pumpWhenQuiet();
    if (this.#refillTimer !== undefined) return;
    this.#refillTimer = setTimeout(() => {
      this.#refillTimer = undefined;
      this.#pumpWhenQuiet();
    }, this.#refillDelayMs);
    this.#refillTimer.unref();
  }

  /** Pumps once no job is in flight on the engine, or after `holdMaxMs` (a steady stream still refills). */
  #pumpWhenQuiet(): void {
    if (this.#holding || this.#disposed) return;
    if (this.#hold === undefined || this.#hold.inFlight === 0) return this.#pump();
    this.#holding = true;
    void this.#hold
      .quiet(this.#holdMaxMs)
      .then(() => {
        this.#holding = false;
        this.#pump();
      })
      .catch(() => undefined);
  }

  /** Starts creations while some key is below its target, the emptiest key first, `refills` at most. */
  #pump(): void {
    if (!this.#started || this.#disposed) return;
    const now = Date.now();
    while (this.#creating < this.#refills) {
      let best: KeyState | undefined;
      let bestDeficit = 0;
      for (const s of this.#keys.values()) {
        if (s.retryAt > now) continue;
        const deficit = s.sizing.target - this.idleCount(s.spec.key) - s.creating;
        if (deficit > bestDeficit) [best, bestDeficit] = [s, deficit];
      }
      if (best === undefined) return;
      this.#spawn(best);
    }
  }

  #spawn(s: KeyState): void {
    this.#creating += 1;
    s.creating += 1;
    const p = s.spec
      .create()
      .then((c) => {
        s.backoffMs = 250;
        // disposed, or the key shrank while this one was being made
        if (this.#disposed || this.idleCount(s.spec.key) >= s.sizing.target) {
          this.#discard(c);
          return;
        }
        s.idle.push(c);
        void c.ended.then(() => this.#lost(s, c)).catch(() => undefined);
      })
      .catch(() => {
        s.retryAt = Date.now() + s.backoffMs;
        s.backoffMs = Math.min(s.backoffMs * 2, MAX_BACKOFF_MS);
        // the tick pumps again once retryAt has passed
      })
      .finally(() => {
        this.#creating -= 1;
        s.creating -= 1;
        this.#fills.delete(p);
        // the next creation waits too if a burst began meanwhile
        this.#pumpWhenQuiet();
      });
    this.#fills.add(p);
  }

  /** An idle container died (killed from outside, engine restart): it goes and is replaced. */
  #lost(s: KeyState, c: ReadyContainer): void {
    if (c.used || this.#disposed) return;
    const i = s.idle.indexOf(c);
    if (i >= 0) s.idle.splice(i, 1);
    s.memory.delete(c);
    this.#discard(c);
    this.#pumpWhenQuiet();
  }

  #tick(): void {
    if (this.#disposed) return;
    const now = Date.now();
    for (const s of this.#keys.values()) {
      if (!s.sizing.tick(now)) continue;
      // the key shrank: the surplus goes, the oldest first
      while (s.idle.length > s.sizing.target) {
        const c = s.idle.shift()!;
        s.memory.delete(c);
        this.#discard(c);
      }
    }
    this.#pumpSoon();
    this.#measureIdle(now).catch(() => undefined);
  }

  /** Measures idle containers not measured for a while, one at a time (a remote engine answers slowly). */
  async #measureIdle(now: number): Promise<void> {
    if (this.#measure === undefined || this.#measuring) return;
    this.#measuring = true;
    try {
      for (const s of this.#keys.values()) {
        for (const c of [...s.idle]) {
          const last = s.memory.get(c);
          if (last !== undefined && now - last.at < MEASURE_EVERY_MS) continue;
          const bytes = await this.#measure(c).catch(() => undefined);
          if (this.#disposed) return;
          if (bytes === undefined || !s.idle.includes(c)) continue;
          s.memory.set(c, { bytes, at: Date.now() });
          s.meanBytes = s.meanBytes === undefined ? bytes : s.meanBytes * 0.8 + bytes * 0.2;
        }
      }
    } finally {
      this.#measuring = false;
    }
  }
}
