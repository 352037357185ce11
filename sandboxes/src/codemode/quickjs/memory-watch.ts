// Tells whether a QuickJS guest reached its memory limit: the exact allocator refused one of its allocations.
import type { QuickJSRuntime } from "quickjs-emscripten-core";
import type { ExactAllocator } from "./exact-allocator.ts";

/**
 * The bound itself is QuickJS's own limit (`setMemoryLimit`), made exact by ExactAllocator: every block is
 * charged its real size and an allocation that would pass the limit fails at once. What is left here is to
 * turn a refusal into the guest's end: QuickJS throws a catchable "out of memory" error, so a guest that
 * catches it and goes on (or returns) would otherwise succeed. Any allocation refused while this guest ran
 * (one guest runs at a time in a worker) stops it as out of memory — from the interrupt handler and at the
 * end of each slice. Both reads are O(1): a wasm global and one word of the runtime.
 *
 * @example const watch = new MemoryWatch(allocator, runtime); if (watch.check()) stop();
 */
export class MemoryWatch {
  readonly #allocator: ExactAllocator;
  readonly #runtime: QuickJSRuntime;
  #refusals: number;
  /** Refusals counted while this guest ran (other guests' slices in between left out). */
  #refused = 0;
  /** The most bytes the guest held after any of its allocations (slices so far), for memoryPeakMb. */
  peakBytes = 0;

  /** Made with the guest's runtime, before its context: refusals from then on are its own. */
  constructor(allocator: ExactAllocator, runtime: QuickJSRuntime) {
    this.#allocator = allocator;
    this.#runtime = runtime;
    this.#refusals = allocator.refusals();
    allocator.resetPeak(runtime);
  }

  /** At the start of each later slice: refusals made by other guests since this one last ran are not its. */
  resume(): void {
    this.#refusals = this.#allocator.refusals();
    this.#allocator.resetPeak(this.#runtime);
  }

  /** True once an allocation of this guest was refused (from the interrupt handler and at slice ends). */
  check(): boolean {
    this.peakBytes = Math.max(this.peakBytes, this.#allocator.peakBytes());
    const now = this.#allocator.refusals();
    this.#refused += now - this.#refusals;
    this.#refusals = now;
    return this.#refused > 0;
  }

  /** The bytes the guest's runtime holds now (every block, as the allocator sized it). */
  get usedBytes(): number {
    return this.#allocator.usedBytes(this.#runtime);
  }
}
