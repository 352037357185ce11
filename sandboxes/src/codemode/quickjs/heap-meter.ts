// Reads a QuickJS runtime's heap size without a context of its own: one pristine context per worker holds the report.
import type {
  EitherFFI,
  JSContextPointer,
  JSRuntimePointer,
  QuickJSContext,
  QuickJSRuntime,
  QuickJSWASMModule,
} from "quickjs-emscripten-core";

/** The pointer fields quickjs-emscripten keeps on its wrappers (declared protected, read here only). */
interface RuntimeInternals {
  rt: { value: JSRuntimePointer };
}
interface ContextInternals {
  ctx: { value: JSContextPointer };
}

const runtimePointer = (runtime: QuickJSRuntime): JSRuntimePointer =>
  (runtime as unknown as RuntimeInternals).rt.value;

/**
 * `QuickJSRuntime.computeMemoryUsage()` builds its report object in the runtime's "system context", which it
 * creates on first use: a whole second context (intrinsics, ~40 KiB, about as long to make as the guest's
 * own) for every guest runtime measured. The report cannot be built in the guest's context instead: the FFI
 * fills it with `JS_SetPropertyStr`, so a setter or a read-only `memory_used_size` the guest put on
 * `Object.prototype` would run guest code in the host's measurement, or fake the number.
 *
 * So the worker keeps one meter: a runtime and context that never run guest code. `JS_ComputeMemoryUsage`
 * walks the guest runtime only; the report object lives (and is freed at once) in the meter's context, whose
 * `Object.prototype` no guest can reach. This reads two protected pointer fields of quickjs-emscripten's
 * wrappers; the FFI call is the one `computeMemoryUsage()` itself makes.
 *
 * @example const meter = new HeapMeter(module); const bytes = meter.usedBytes(runtime); meter.dispose();
 */
export class HeapMeter {
  readonly #runtime: QuickJSRuntime;
  readonly #context: QuickJSContext;
  readonly #contextPointer: JSContextPointer;
  readonly #compute: EitherFFI["QTS_RuntimeComputeMemoryUsage"];
  readonly #memory: ReturnType<QuickJSContext["getMemory"]>;

  constructor(module: QuickJSWASMModule) {
    const ffi = module.getFFI();
    this.#compute = ffi.QTS_RuntimeComputeMemoryUsage.bind(ffi);
    this.#runtime = module.newRuntime();
    this.#context = this.#runtime.newContext();
    this.#contextPointer = (this.#context as unknown as ContextInternals).ctx.value;
    this.#memory = this.#context.getMemory(runtimePointer(this.#runtime));
  }

  /** The heap `runtime` uses (JS_ComputeMemoryUsage's `memory_used_size`), in bytes. Runs no guest code. */
  usedBytes(runtime: QuickJSRuntime): number {
    const report = this.#memory.heapValueHandle(this.#compute(runtimePointer(runtime), this.#contextPointer));
    try {
      const used = this.#context.getProp(report, "memory_used_size");
      try {
        return this.#context.getNumber(used);
      } finally {
        used.dispose();
      }
    } finally {
      report.dispose();
    }
  }

  dispose(): void {
    this.#context.dispose();
    this.#runtime.dispose();
  }
}
