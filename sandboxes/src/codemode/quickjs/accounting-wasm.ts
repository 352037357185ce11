// The wasm functions that charge each QuickJS block its real dlmalloc size (hand-assembled: three small bodies).

/*
 * In wasm text form (s: JSMallocState*, whose malloc_size is at offset 4; block(p) = load(p - 4) & ~7, the
 * size dlmalloc keeps in the header word before an in-use block; the original hooks charge 8 a block):
 *
 *   (import "e" "mem" (memory 0))
 *   (import "e" "m" (func $m (param i32 i32) (result i32)))       ;; QuickJS's js_def_malloc
 *   (import "e" "f" (func $f (param i32 i32)))                    ;; js_def_free
 *   (import "e" "r" (func $r (param i32 i32 i32) (result i32)))   ;; js_def_realloc
 *   (global $refused (export "refused") (mut i32) (i32.const 0))
 *   (global $peak (export "peak") (mut i32) (i32.const 0))   ;; the most malloc_size after an allocation
 *   (func (export "malloc") (param $s i32) (param $n i32) (result i32) (local $p i32)
 *     (if (i32.eqz (local.tee $p (call $m (local.get $s) (local.get $n))))
 *       (then (global.set $refused (i32.add (global.get $refused) (i32.const 1))) (return (i32.const 0))))
 *     (i32.store offset=4 (local.get $s) (i32.sub (i32.add (i32.load offset=4 (local.get $s)) (block $p)) (i32.const 8)))
 *     (if (i32.gt_u (local.tee $t (i32.load offset=4 (local.get $s))) (global.get $peak)) (then (global.set $peak (local.get $t))))
 *     (local.get $p))
 *   (func (export "free") (param $s i32) (param $p i32)
 *     (if (local.get $p) (then
 *       (i32.store offset=4 (local.get $s) (i32.add (i32.sub (i32.load offset=4 (local.get $s)) (block $p)) (i32.const 8)))))
 *     (call $f (local.get $s) (local.get $p)))
 *   (func (export "realloc") (param $s i32) (param $p i32) (param $n i32) (result i32) (local $old i32) (local $q i32)
 *     (if (i32.eqz (local.get $p)) (then   ;; as js_def_realloc: realloc(NULL, 0) is NULL, no allocation
 *       (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
 *       (return (call $malloc (local.get $s) (local.get $n)))))
 *     (if (i32.eqz (local.get $n)) (then (call $free (local.get $s) (local.get $p)) (return (i32.const 0))))
 *     (local.set $old (block $p))
 *     ;; the original checks malloc_size + n against the limit (its old size is 0): the old block leaves first
 *     (i32.store offset=4 (local.get $s) (i32.sub (i32.load offset=4 (local.get $s)) (local.get $old)))
 *     (if (i32.eqz (local.tee $q (call $r (local.get $s) (local.get $p) (local.get $n)))) (then
 *       (i32.store offset=4 (local.get $s) (i32.add (i32.load offset=4 (local.get $s)) (local.get $old)))
 *       (global.set $refused (i32.add (global.get $refused) (i32.const 1)))
 *       (return (i32.const 0))))
 *     (i32.store offset=4 (local.get $s) (i32.add (i32.load offset=4 (local.get $s)) (block $q)))
 *     (if (i32.gt_u (local.tee $t ...)) ...)   ;; the peak, as in malloc
 *     (call $clamp (local.get $s))
 *     (local.get $q))
 *   ;; malloc also calls $clamp after a successful allocation, before returning $p.
 *   (global $th (export "th") (mut i32) (i32.const 0))   ;; malloc_gc_threshold's offset from s; 0: no clamp
 *   (func $clamp (param $s i32) (local $size i32) (local $limit i32) (local $cap i32) (local $a i32)
 *     (if (i32.eqz (global.get $th)) (then (return)))
 *     (local.set $size (i32.load offset=4 (local.get $s)))
 *     (local.set $limit (i32.load offset=8 (local.get $s)))
 *     ;; no limit (-1): JS_NewRuntime2 allocates the runtime itself through a JSMallocState on its C stack, so
 *     ;; s + th is then a stack word, not a threshold; a runtime without a limit has nothing to clamp anyway
 *     (if (i32.eq (local.get $limit) (i32.const -1)) (then (return)))
 *     (if (i32.ge_u (local.get $size) (local.get $limit)) (then (return)))
 *     (local.set $cap (i32.add (local.get $size) (i32.shr_u (i32.sub (local.get $limit) (local.get $size)) (i32.const 1))))
 *     (local.set $a (i32.add (local.get $s) (global.get $th)))
 *     (if (i32.gt_u (i32.load (local.get $a)) (local.get $cap)) (then (i32.store (local.get $a) (local.get $cap)))))
 *
 * Why the clamp: QuickJS collects cycles only when an object allocation finds malloc_size past
 * malloc_gc_threshold, which it sets to 1.5x the live size after each collection, and never when an allocation
 * is refused. With exact sizes, a guest whose live data passed 2/3 of its limit would get a threshold above the
 * limit: its cyclic garbage would never be collected and would fill the rest until a refusal ended it. Keeping
 * the threshold at most halfway between the size and the limit collects before the limit is reached.
 */

const I32 = 0x7f;
const op = {
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  globalGet: 0x23,
  globalSet: 0x24,
  load: 0x28,
  store: 0x36,
  const: 0x41,
  add: 0x6a,
  sub: 0x6b,
  and: 0x71,
  eqz: 0x45,
  eq: 0x46,
  gtU: 0x4b,
  geU: 0x4f,
  shrU: 0x76,
  if: 0x04,
  void: 0x40,
  end: 0x0b,
  return: 0x0f,
  call: 0x10,
} as const;

/** Unsigned LEB128 (sizes). */
const leb = (value: number): number[] =>
  value < 0x80 ? [value] : [(value & 0x7f) | 0x80, ...leb(value >>> 7)];
const name = (text: string): number[] => [text.length, ...Buffer.from(text)];
const section = (id: number, content: number[]): number[] => [id, ...leb(content.length), ...content];
const vector = (items: number[][]): number[] => [items.length, ...items.flat()];
const body = (locals: number[], code: number[]): number[] => {
  const content = [...locals, ...code, op.end];
  return [...leb(content.length), ...content];
};

const get = (local: number): number[] => [op.localGet, local];
/** i32.load/store offset=4 (JSMallocState.malloc_size). */
const loadSize = (s: number): number[] => [...get(s), op.load, 2, 4];
const storeSize: number[] = [op.store, 2, 4];
/** The dlmalloc size of the in-use block at the pointer in `local`. */
const block = (local: number): number[] => [
  ...get(local),
  op.const,
  4,
  op.sub,
  op.load,
  2,
  0,
  op.const,
  0x78,
  op.and,
];
const countRefusal: number[] = [op.globalGet, 0, op.const, 1, op.add, op.globalSet, 0];
/** peak = max(peak, s->malloc_size), through the scratch local `t`. */
const notePeak = (t: number): number[] => [
  ...loadSize(0),
  op.localTee,
  t,
  op.globalGet,
  1,
  op.gtU,
  op.if,
  op.void,
  ...get(t),
  op.globalSet,
  1,
  op.end,
];

// Function indices: imports 0 (m), 1 (f), 2 (r); then malloc 3, free 4, realloc 5. One line per statement.
// prettier-ignore
const mallocBody = body([1, 2, I32], [
  ...get(0), ...get(1), op.call, 0, op.localTee, 2,
  op.eqz, op.if, op.void, ...countRefusal, op.const, 0, op.return, op.end,
  ...get(0), ...loadSize(0), ...block(2), op.add, op.const, 8, op.sub, ...storeSize,
  ...notePeak(3),
  ...get(0), op.call, 6,
  ...get(2),
]);
// prettier-ignore
const freeBody = body([0], [
  ...get(1), op.if, op.void,
  ...get(0), ...loadSize(0), ...block(1), op.sub, op.const, 8, op.add, ...storeSize,
  op.end,
  ...get(0), ...get(1), op.call, 1,
]);
// prettier-ignore
const reallocBody = body([1, 3, I32], [
  ...get(1), op.eqz, op.if, op.void,
  ...get(2), op.eqz, op.if, op.void, op.const, 0, op.return, op.end,
  ...get(0), ...get(2), op.call, 3, op.return,
  op.end,
  ...get(2), op.eqz, op.if, op.void, ...get(0), ...get(1), op.call, 4, op.const, 0, op.return, op.end,
  ...block(1), op.localSet, 3,
  ...get(0), ...loadSize(0), ...get(3), op.sub, ...storeSize,
  ...get(0), ...get(1), ...get(2), op.call, 2, op.localTee, 4,
  op.eqz, op.if, op.void,
  ...get(0), ...loadSize(0), ...get(3), op.add, ...storeSize,
  ...countRefusal, op.const, 0, op.return,
  op.end,
  ...get(0), ...loadSize(0), ...block(4), op.add, ...storeSize,
  ...notePeak(5),
  ...get(0), op.call, 6,
  ...get(4),
]);
// $clamp: params 0 (s); locals 1 (size), 2 (limit), 3 (cap), 4 (a). Global 2 is $th.
// prettier-ignore
const clampBody = body([1, 4, I32], [
  op.globalGet, 2, op.eqz, op.if, op.void, op.return, op.end,
  ...loadSize(0), op.localSet, 1,
  ...get(0), op.load, 2, 8, op.localSet, 2,
  ...get(2), op.const, 0x7f, op.eq, op.if, op.void, op.return, op.end,
  ...get(1), ...get(2), op.geU, op.if, op.void, op.return, op.end,
  ...get(1), ...get(2), ...get(1), op.sub, op.const, 1, op.shrU, op.add, op.localSet, 3,
  ...get(0), op.globalGet, 2, op.add, op.localSet, 4,
  ...get(4), op.load, 2, 0, ...get(3), op.gtU, op.if, op.void,
  ...get(4), ...get(3), op.store, 2, 0,
  op.end,
]);

const FUNC = 0x60;
/** The accounting module's binary (see the text form above). */
// prettier-ignore
export const ACCOUNTING_WASM: Uint8Array = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vector([
    [FUNC, 2, I32, I32, 1, I32],
    [FUNC, 2, I32, I32, 0],
    [FUNC, 3, I32, I32, I32, 1, I32],
    [FUNC, 1, I32, 0],
  ])),
  ...section(2, vector([
    [...name("e"), ...name("mem"), 0x02, 0x00, 0x00],
    [...name("e"), ...name("m"), 0x00, 0],
    [...name("e"), ...name("f"), 0x00, 1],
    [...name("e"), ...name("r"), 0x00, 2],
  ])),
  ...section(3, vector([[0], [1], [2], [3]])),
  ...section(6, vector([
    [I32, 0x01, op.const, 0, op.end],
    [I32, 0x01, op.const, 0, op.end],
    [I32, 0x01, op.const, 0, op.end],
  ])),
  ...section(7, vector([
    [...name("malloc"), 0x00, 3],
    [...name("free"), 0x00, 4],
    [...name("realloc"), 0x00, 5],
    [...name("refused"), 0x03, 0],
    [...name("peak"), 0x03, 1],
    [...name("th"), 0x03, 2],
  ])),
  ...section(10, vector([mallocBody, freeBody, reallocBody, clampBody])),
]);
