// Canonical JSON (sorted keys, no whitespace): the identity of a tool call's arguments in the journal and cache.
import { MAX_JSON_DEPTH } from "@mend/wire";

/**
 * Serialises a JSON value with object keys sorted (by UTF-16 code units), recursively, like
 * `JSON.stringify` otherwise: `undefined`, functions and symbols are dropped in objects and become
 * `null` in arrays, non-finite numbers become `null`, `toJSON` is honoured. Throws a TypeError on
 * cycles and BigInt, like `JSON.stringify`, and a RangeError for values nested deeper than
 * MAX_JSON_DEPTH (the recursion is bounded whatever the input: callers check depth first).
 *
 * @example canonicalJson({ b: 1, a: [true, { d: null, c: "x" }] }) // '{"a":[true,{"c":"x","d":null}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  const out = write(value, new Set<object>(), 0);
  return out ?? "null";
}

function write(value: unknown, seen: Set<object>, depth: number): string | undefined {
  if (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { toJSON?: unknown }).toJSON === "function"
  ) {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : "null";
    case "bigint":
      throw new TypeError("Do not know how to serialize a BigInt");
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return "null";
  const obj = value as object;
  if (depth >= MAX_JSON_DEPTH) throw new RangeError(`value nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (seen.has(obj)) throw new TypeError("Converting circular structure to JSON");
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      return `[${obj.map((item: unknown) => write(item, seen, depth + 1) ?? "null").join(",")}]`;
    }
    const record = obj as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const item = write(record[key], seen, depth + 1);
      if (item !== undefined) parts.push(`${JSON.stringify(key)}:${item}`);
    }
    return `{${parts.join(",")}}`;
  } finally {
    seen.delete(obj);
  }
}
