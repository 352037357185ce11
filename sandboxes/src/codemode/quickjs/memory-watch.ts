// Measures a QuickJS guest's heap in bytes (this build's own limit counts allocations): often enough to stop a
// memory bomb within tens of milliseconds, rarely enough to cost a few percent of a busy guest's CPU.
import type { QuickJSRuntime } from "quickjs-emscripten-core";
import type { HeapMeter } from "./heap-meter.ts";

/** Shortest interval between two measurements while the guest runs, in ms. */
const MIN_INTERVAL_MS = 10;
/** Measurements take at most this share of the guest's time (the interval is stretched for big heaps). */
const COST_SHARE = 0.1;
/** Wasm memory growth (bytes) that triggers a measurement at once, whatever the interval. */
const GROWTH_TRIGGER_BYTES = 1024 * 1024;
/**
 * Running time (ms, wall clock, summed over slices) a guest may park after without a new measurement: what it
 * can allocate in that time (memset speed, ~1 MiB at 10 GB/s) is all a parked guest can hold unmeasured.
 */
const PARK_UNMEASURED_MS = 0.1;

/**
 * The release build of quickjs-emscripten has no `malloc_usable_size`, so QuickJS counts every block as 8
 * bytes against `setMemoryLimit`: a guest allocating large strings reaches hundreds of MiB before that limit
 * trips. This watch measures the heap with `JS_ComputeMemoryUsage` (`memory_used_size`: objects, strings,
 * shapes, functions, array storage; ~20 µs for a small heap, a few ms for tens of MiB) from the interrupt
 * handler — at most every MIN_INTERVAL_MS, stretched so measuring stays under COST_SHARE of the guest's
 * time, and at once when the worker's wasm memory grew — and at the end of each slice that parks, unless the
 * guest ran less than PARK_UNMEASURED_MS in all since the last measurement and the wasm memory did not grow
 * (the short resumes of a script awaiting tool calls one after another). The worker's HeapMeter reads it (no
 * second context per guest runtime, no guest code run).
 *
 * @example const watch = new MemoryWatch(meter, runtime, 32 * 2 ** 20, () => memory.buffer.byteLength); if (watch.check(performance.now())) stop();
 */
export class MemoryWatch {
  readonly #meter: HeapMeter;
  readonly #runtime: QuickJSRuntime;
  readonly #limitBytes: number;
  readonly #wasmBytes: () => number;
  #next = 0;
  #last = -1;
  #lastCostMs = 0;
  #wasmSeen = 0;
  /** Guest running time since the last measurement, counted at the ends of slices (ms). */
  #unmeasuredMs = 0;
  /** The heap size at the last measurement, in bytes. */
  lastBytes = 0;

  constructor(meter: HeapMeter, runtime: QuickJSRuntime, limitBytes: number, wasmBytes: () => number) {
    this.#meter = meter;
    this.#runtime = runtime;
    this.#limitBytes = limitBytes;
    this.#wasmBytes = wasmBytes;
    this.#wasmSeen = wasmBytes();
    // A fresh runtime holds nothing to measure: the first measurement comes an interval into the guest's
    // run (or at once when the wasm memory grows, or at the end of its first slice).
    this.#next = performance.now() + MIN_INTERVAL_MS;
  }

  /** From the interrupt handler: measures when due; true when the heap is over the limit. */
  check(now: number): boolean {
    const wasm = this.#wasmBytes();
    if (now < this.#next && wasm < this.#wasmSeen + GROWTH_TRIGGER_BYTES) return false;
    return this.#measure(now, wasm) > this.#limitBytes;
  }

  /**
   * At the end of a slice that began at `sliceStart` (performance.now() ms): measures unless nothing grew and
   * the guest ran little since the last measurement (or that one is recent); true when over.
   */
  overLimit(sliceStart: number): boolean {
    const now = performance.now();
    const wasm = this.#wasmBytes();
    if (this.#last >= 0 && wasm === this.#wasmSeen) {
      this.#unmeasuredMs += now - Math.max(sliceStart, this.#last);
      if (this.#unmeasuredMs < PARK_UNMEASURED_MS || now - this.#last < this.#lastCostMs / COST_SHARE) {
        return this.lastBytes > this.#limitBytes;
      }
    }
    return this.#measure(now, wasm) > this.#limitBytes;
  }

  #measure(now: number, wasm: number): number {
    this.lastBytes = this.#meter.usedBytes(this.#runtime);
    const done = performance.now();
    this.#lastCostMs = done - now;
    this.#last = done;
    this.#unmeasuredMs = 0;
    this.#wasmSeen = wasm;
    this.#next = done + Math.max(MIN_INTERVAL_MS, this.#lastCostMs / COST_SHARE);
    return this.lastBytes;
  }
}
