// The accounting module on its own: its charges and its GC-threshold clamp, over a memory the test lays out.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ACCOUNTING_WASM } from "./accounting-wasm.ts";

interface Memory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => Memory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Where the test's JSMallocState sits, and the threshold word's offset from it (as QuickJS's runtime lays out). */
const STATE = 1024;
const TH = 96;
const HEAP = 4096;

/** The module over a bump allocator that writes dlmalloc-like headers (size rounded to 8, plus 8, in-use bit). */
function load() {
  const memory = new wasm.Memory({ initial: 1 });
  const words = new Uint32Array(memory.buffer);
  let next = HEAP;
  const m = (_s: number, n: number): number => {
    const size = (n + 4 + 7) & ~7;
    const p = next + 4;
    words[(p - 4) >>> 2] = size | 3;
    next += size;
    return p;
  };
  const instance = new wasm.Instance(new wasm.Module(ACCOUNTING_WASM), {
    e: { mem: memory, m, f: () => {}, r: () => 0 },
  });
  const exports = instance.exports as {
    malloc(s: number, n: number): number;
    free(s: number, p: number): void;
    th: { value: number };
  };
  exports.th.value = TH;
  return { words, exports };
}

describe("the QuickJS accounting module", () => {
  it("charges a block its real size and lowers a threshold above halfway to the limit", () => {
    const { words, exports } = load();
    words[(STATE + 4) >>> 2] = 0; // malloc_size
    words[(STATE + 8) >>> 2] = 1000; // malloc_limit
    words[(STATE + TH) >>> 2] = 5000; // malloc_gc_threshold, past the limit
    const p = exports.malloc(STATE, 100);
    assert.ok(p > 0);
    // 100 bytes + 4 of header, rounded to 8 = 104, less the 8 the original hook charges (this one charges none).
    assert.equal(words[(STATE + 4) >>> 2], 104 - 8);
    assert.equal(words[(STATE + TH) >>> 2], 96 + ((1000 - 96) >>> 1));
  });

  it("writes nothing past a state without a limit (JS_NewRuntime2's state on the C stack)", () => {
    const { words, exports } = load();
    words[(STATE + 4) >>> 2] = 0;
    words[(STATE + 8) >>> 2] = 0xffffffff; // malloc_limit -1
    // Whatever the caller's stack holds where a runtime's threshold would be: a large value is left alone.
    words[(STATE + TH) >>> 2] = 0xfffffff0;
    exports.malloc(STATE, 100);
    assert.equal(words[(STATE + TH) >>> 2], 0xfffffff0);
  });
});
