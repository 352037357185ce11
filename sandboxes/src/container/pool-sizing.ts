// How many warm containers one pool key wants: grows on misses toward its maximum, falls back to the
// demand it saw (at least its minimum) after a whole idle window without a miss; and the figures a key reports.

/** Bounds of one key's pool size. */
export interface SizingBounds {
  /** Kept ready however idle the key is (MEND_POOL_SIZE). */
  min: number;
  /** The most the key grows to under demand (MEND_POOL_MAX); at least `min`. */
  max: number;
  /** A window this long without a miss lets the target fall (MEND_POOL_IDLE_MS). */
  idleMs: number;
}

/**
 * The target size of one key. A miss (a job of the key found no idle container) raises the target to at
 * least one more than before and at least the jobs of the key running at once, capped by `max` and by what
 * the caller allows (the memory budget). After a window of `idleMs` with no miss the target falls to the
 * most jobs of the key that ran at once in that window, never below `min`: a burst keeps its pool for as
 * long as bursts come, an idle key shrinks back within one to two windows.
 * @example
 * const s = new PoolSizing({ min: 2, max: 8, idleMs: 60_000 }, Date.now());
 * s.onTake(false, Infinity); s.target; // 3
 */
export class PoolSizing {
  readonly bounds: SizingBounds;
  #target: number;
  #hits = 0;
  #misses = 0;
  #inUse = 0;
  /** Most jobs of the key running at once since the window started. */
  #peak = 0;
  #missed = false;
  #windowStart: number;

  constructor(bounds: SizingBounds, now: number) {
    const min = Math.max(0, Math.floor(bounds.min));
    this.bounds = { min, max: Math.max(min, Math.floor(bounds.max)), idleMs: Math.max(1, bounds.idleMs) };
    this.#target = min;
    this.#windowStart = now;
  }

  get target(): number {
    return this.#target;
  }

  get hits(): number {
    return this.#hits;
  }

  get misses(): number {
    return this.#misses;
  }

  /** Jobs of the key running now (served warm or cold). */
  get inUse(): number {
    return this.#inUse;
  }

  /**
   * A job of the key starts; `hit` when it got a warm container. `allowed` is the most the caller lets the
   * target reach now (the memory budget); the target never drops because of it.
   */
  onTake(hit: boolean, allowed: number): void {
    this.#inUse += 1;
    this.#peak = Math.max(this.#peak, this.#inUse);
    if (hit) {
      this.#hits += 1;
      return;
    }
    this.#misses += 1;
    this.#missed = true;
    const cap = Math.min(this.bounds.max, Math.max(this.#target, Math.floor(allowed)));
    this.#target = Math.min(cap, Math.max(this.#target + 1, this.#inUse));
  }

  /** A job of the key ended. */
  onRelease(): void {
    this.#inUse = Math.max(0, this.#inUse - 1);
  }

  /** Called periodically; returns true when the target fell (the caller removes the surplus). */
  tick(now: number): boolean {
    if (now - this.#windowStart < this.bounds.idleMs) return false;
    const before = this.#target;
    if (!this.#missed) this.#target = Math.max(this.bounds.min, Math.min(this.#target, this.#peak));
    this.#windowStart = now;
    this.#peak = this.#inUse;
    this.#missed = false;
    return this.#target < before;
  }
}

/** One key's state, for metrics, health and benchmarks. */
export interface PoolKeyStats {
  key: string;
  min: number;
  max: number;
  target: number;
  /** Started, live, not yet handed out. */
  idle: number;
  /** Being created for the pool. */
  creating: number;
  /** Jobs of this key running now (warm or cold). */
  inUse: number;
  hits: number;
  misses: number;
  /** Memory the idle containers hold, bytes (measured; one not measured yet counts as the key's mean). */
  memoryBytes: number;
  /** Mean memory of one idle container of this key, bytes, once one was measured. */
  memoryPerContainerBytes?: number;
}
