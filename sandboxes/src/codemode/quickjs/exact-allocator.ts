// Makes QuickJS's own memory limit count real bytes: its allocator hooks are wrapped so every block is charged its dlmalloc size.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type JSRuntimePointer,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from "quickjs-emscripten-core";
import { exportTable } from "./wasm-table-export.ts";
import { ACCOUNTING_WASM } from "./accounting-wasm.ts";

/** The pointer field quickjs-emscripten keeps on its runtime wrapper (declared protected, read here only). */
interface RuntimeInternals {
  rt: { value: JSRuntimePointer };
}

/** `JSRuntime` begins with `JSMallocFunctions mf` (4 pointers), then `JSMallocState` (count, size, limit, opaque). */
const MALLOC_SIZE_OFFSET = 16 + 4;
const TABLE_EXPORT = "mend_table";
/** A block size for the header check: 1000 bytes + 4 of header, rounded up to 8, is 1008. */
const SAMPLE_BYTES = 1000;
/** JS_NewRuntime's first `malloc_gc_threshold`, found in a fresh runtime to learn the field's offset. */
const INITIAL_GC_THRESHOLD = 256 * 1024;
/** How far past the malloc state the threshold is searched for, in words (it is at word 27 of 2025-09-13's). */
const THRESHOLD_SEARCH_WORDS = 64;

interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmTable {
  readonly length: number;
  get(index: number): unknown;
  set(index: number, value: unknown): void;
  grow(delta: number): number;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
  instantiate(module: object, imports: object): Promise<WasmInstance>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * This release build of QuickJS has no `malloc_usable_size`: its default allocator hooks charge every block 8
 * bytes against the runtime's limit, whatever its size, so `setMemoryLimit` bounds the number of blocks, not
 * the bytes (a guest keeping 200 strings of 100 kB held 20 MB under an 8 MiB limit). Measuring the heap with
 * `JS_ComputeMemoryUsage` instead misses whatever its walk does not visit (rope strings and the strings they
 * point to, among others) and comes only at intervals.
 *
 * The allocator itself is exact: dlmalloc keeps each in-use block's size (payload, 4-byte header, rounded to
 * 8) in the word before it. So the worker loads the module with its function table exported (the build does
 * not export it), finds QuickJS's `def_malloc_funcs` (the hooks every `JS_NewRuntime` copies) in the module's
 * static data, and points its malloc, free and realloc at three small wasm functions (accounting-wasm.ts) that
 * call the original hooks and correct the runtime's `malloc_size` by the block's real size. QuickJS's own
 * check (`malloc_size + size > malloc_limit`, made before each allocation) then holds in bytes, synchronously,
 * at every allocation: no pattern gets past the limit by more than one block's 8-byte header, and nothing the
 * guest does runs in the accounting (it is wasm calling wasm, no JS, no guest code). Each refused allocation
 * is counted (`refusals()`), so a guest that catches the "out of memory" error is still stopped.
 *
 * @example const { module, allocator } = await loadExactQuickJS(variant, memory); allocator.usedBytes(runtime);
 */
export class ExactAllocator {
  readonly #memory: WasmMemory;
  readonly #refused: { value: number };
  readonly #peak: { value: number };

  constructor(memory: WasmMemory, refused: { value: number }, peak: { value: number }) {
    this.#memory = memory;
    this.#refused = refused;
    this.#peak = peak;
  }

  /** Starts a high-water mark at what `runtime` holds now (one guest allocates at a time in a worker). */
  resetPeak(runtime: QuickJSRuntime): void {
    this.#peak.value = this.usedBytes(runtime);
  }

  /** The most bytes the running guest's runtime held after an allocation since `resetPeak`. */
  peakBytes(): number {
    return this.#peak.value >>> 0;
  }

  /** The bytes `runtime` holds in the allocator (every block of the runtime, its contexts and their values). */
  usedBytes(runtime: QuickJSRuntime): number {
    const pointer = (runtime as unknown as RuntimeInternals).rt.value;
    return new DataView(this.#memory.buffer).getUint32(pointer + MALLOC_SIZE_OFFSET, true);
  }

  /** How many allocations the limit (or the wasm memory's maximum) refused since the module was loaded. */
  refusals(): number {
    return this.#refused.value;
  }
}

/**
 * Loads `variant` with the exact allocator hooks installed (see ExactAllocator). Throws when the build does
 * not have the shape this relies on (the worker then fails to start, loudly, rather than run unbounded).
 *
 * @example const { module, allocator } = await loadExactQuickJS(variant, memory);
 */
export async function loadExactQuickJS(
  variant: QuickJSSyncVariant,
  wasmMemory: WasmMemory,
): Promise<{ module: QuickJSWASMModule; allocator: ExactAllocator }> {
  const wasmPath = fileURLToPath(import.meta.resolve("@jitl/quickjs-wasmfile-release-sync/wasm"));
  const compiled = new wasm.Module(exportTable(readFileSync(wasmPath), TABLE_EXPORT));
  let instance: WasmInstance | undefined;
  // Emscripten's hook has no error path: a failed instantiation rejects this instead of never loading.
  let fail: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const loading = newQuickJSWASMModuleFromVariant(
    newVariant(variant, {
      wasmMemory,
      emscriptenModule: {
        // Emscripten's hook for instantiating the module itself: the instance (and its table) is kept here.
        instantiateWasm: (imports: object, done: (instance: WasmInstance) => void) => {
          wasm.instantiate(compiled, imports).then((made) => {
            instance = made;
            done(made);
          }, fail);
          return {};
        },
      },
    }),
  );
  const module = await Promise.race([loading, failed]);
  const table = instance?.exports[TABLE_EXPORT] as WasmTable | undefined;
  if (table === undefined) throw new Error("QuickJS module loaded without its function table");
  const allocator = install(module, wasmMemory, table);
  proveCounting(module, allocator);
  return { module, allocator };
}

/** A probe's string size (bytes): QuickJS keeps `"x".repeat(n)` as one flat block of about n bytes. */
const PROOF_BYTES = 1_000_000;

/**
 * The offsets this relies on (malloc_size in the state, the header word) are each checked alone; this checks
 * them together, end to end: a runtime that makes a 1 MB string must count about 1 MB more, and must refuse
 * it under a limit below that. Runs the host's own script, never a guest's.
 */
function proveCounting(module: QuickJSWASMModule, allocator: ExactAllocator): void {
  const runtime = module.newRuntime();
  try {
    const context = runtime.newContext();
    try {
      const before = allocator.usedBytes(runtime);
      context.unwrapResult(context.evalCode(`globalThis.s = "x".repeat(${PROOF_BYTES});`)).dispose();
      const grown = allocator.usedBytes(runtime) - before;
      context.unwrapResult(context.evalCode("globalThis.s = undefined;")).dispose();
      runtime.setMemoryLimit(allocator.usedBytes(runtime) + PROOF_BYTES / 2);
      const refused = context.evalCode(`globalThis.s = "y".repeat(${PROOF_BYTES});`);
      const wasRefused = refused.error !== undefined;
      (refused.error ?? refused.value).dispose();
      if (grown < PROOF_BYTES || grown > PROOF_BYTES * 1.1 || !wasRefused) {
        throw new Error(
          `QuickJS's allocator does not count as expected (+${grown} bytes, refused ${wasRefused})`,
        );
      }
    } finally {
      context.dispose();
    }
  } finally {
    runtime.dispose();
  }
}

/** Finds QuickJS's default hooks in the module's memory and replaces malloc, free and realloc in place. */
function install(module: QuickJSWASMModule, memory: WasmMemory, table: WasmTable): ExactAllocator {
  const ffi = module.getFFI();
  // A probe runtime holds a copy of the default hooks (table indices) at its start.
  const probe = ffi.QTS_NewRuntime();
  const words = new Uint32Array(memory.buffer);
  const at = probe >>> 2;
  const hooks = [words[at]!, words[at + 1]!, words[at + 2]!, words[at + 3]!];
  const found: number[] = [];
  for (let i = 0; i + 3 < words.length; i++) {
    if (i === at) continue;
    if (words[i] === hooks[0] && words[i + 1] === hooks[1] && words[i + 2] === hooks[2]) {
      if (words[i + 3] === hooks[3]) found.push(i);
    }
  }
  // JSRuntime's malloc_gc_threshold (set to 256 KiB by JS_NewRuntime) after the malloc state: its offset
  // from the state lets the accounting keep it under the limit (accounting-wasm.ts, $clamp).
  const thresholds: number[] = [];
  for (let i = at + 8; i < at + 8 + THRESHOLD_SEARCH_WORDS; i++) {
    if (words[i] === INITIAL_GC_THRESHOLD) thresholds.push(i);
  }
  const thresholdOffset = thresholds.length === 1 ? thresholds[0]! * 4 - (probe + MALLOC_SIZE_OFFSET - 4) : 0;
  const [malloc, free, realloc] = hooks.map((index) => table.get(index));
  if (thresholdOffset === 0) {
    ffi.QTS_FreeRuntime(probe);
    throw new Error(`QuickJS's GC threshold not found (${thresholds.length} candidates)`);
  }
  if (found.length !== 1 || typeof malloc !== "function" || typeof free !== "function") {
    ffi.QTS_FreeRuntime(probe);
    throw new Error(`QuickJS's default allocator hooks not found (${found.length} candidates)`);
  }
  // The header word before a block must hold its dlmalloc size (in use, 4 bytes of header, 8-byte rounding):
  // checked on a block of known size, charged to the probe's own state.
  const state = probe + MALLOC_SIZE_OFFSET - 4;
  const sample = (malloc as (s: number, size: number) => number)(state, SAMPLE_BYTES);
  const head = new Uint32Array(memory.buffer)[(sample - 4) >>> 2]!;
  (free as (s: number, p: number) => void)(state, sample);
  ffi.QTS_FreeRuntime(probe);
  if ((head & ~7) !== SAMPLE_BYTES + 8 || (head & 2) === 0) {
    throw new Error(`QuickJS's allocator is not the dlmalloc this relies on (header ${head})`);
  }
  const accounting = new wasm.Instance(new wasm.Module(ACCOUNTING_WASM), {
    e: { mem: memory, m: malloc, f: free, r: realloc },
  });
  const globals = accounting.exports as Record<"refused" | "peak" | "th", { value: number }>;
  globals.th.value = thresholdOffset;
  const base = table.grow(3);
  table.set(base, accounting.exports.malloc);
  table.set(base + 1, accounting.exports.free);
  table.set(base + 2, accounting.exports.realloc);
  const slot = found[0]!;
  // Written last: runtimes made from now on allocate through the accounting (none exists yet).
  new Uint32Array(memory.buffer).set([base, base + 1, base + 2], slot);
  // A new runtime must now carry the accounting hooks (a build that inlined the defaults would not).
  const check = ffi.QTS_NewRuntime();
  const copied = new Uint32Array(memory.buffer, check, 3).join();
  const threshold = new Uint32Array(memory.buffer)[(check + MALLOC_SIZE_OFFSET - 4 + thresholdOffset) >>> 2];
  ffi.QTS_FreeRuntime(check);
  if (copied !== [base, base + 1, base + 2].join()) {
    throw new Error("QuickJS runtimes do not take the accounting allocator hooks");
  }
  if (threshold !== INITIAL_GC_THRESHOLD) {
    throw new Error(`QuickJS's GC threshold is not where the probe found it (${threshold})`);
  }
  return new ExactAllocator(memory, globals.refused, globals.peak);
}
