// Adds an export of a wasm module's function table to its binary (the QuickJS build defines its table but does not export it).

const EXPORT_SECTION = 7;
const TABLE_KIND = 1;
const MAGIC_AND_VERSION = 8;

/** Reads an unsigned LEB128 at `offset`: the value and the offset after it. */
function readU32(bytes: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  let next = offset;
  for (;;) {
    const byte = bytes[next++];
    if (byte === undefined || shift > 28) throw new Error("malformed wasm: bad LEB128");
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next };
    shift += 7;
  }
}

function u32(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    const byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    out.push(rest === 0 ? byte : byte | 0x80);
  } while (rest !== 0);
  return out;
}

/**
 * Returns a copy of the wasm binary `bytes` whose export section also exports table 0 as `name`. Only the
 * export section is rewritten (its entry count and size); code and indices are untouched.
 *
 * @example const patched = exportTable(readFileSync("module.wasm"), "table"); new WebAssembly.Module(patched);
 */
export function exportTable(bytes: Uint8Array, name: string): Uint8Array {
  let offset = MAGIC_AND_VERSION;
  while (offset < bytes.length) {
    const id = bytes[offset]!;
    const size = readU32(bytes, offset + 1);
    const end = size.next + size.value;
    if (id === EXPORT_SECTION) {
      const count = readU32(bytes, size.next);
      const nameBytes = [...Buffer.from(name)];
      const body = [
        ...u32(count.value + 1),
        ...bytes.subarray(count.next, end),
        ...u32(nameBytes.length),
        ...nameBytes,
        TABLE_KIND,
        0,
      ];
      return Buffer.concat([
        bytes.subarray(0, offset),
        Uint8Array.of(EXPORT_SECTION, ...u32(body.length), ...body),
        bytes.subarray(end),
      ]);
    }
    offset = end;
  }
  throw new Error("malformed wasm: no export section");
}
