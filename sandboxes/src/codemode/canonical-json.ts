// Canonical JSON (sorted keys, no whitespace): the identity of a tool call's arguments in the journal and cache.

/**
 * Serialises a JSON value with object keys sorted (by UTF-16 code units), recursively, like
 * `JSON.stringify` otherwise: `undefined`, functions and symbols are dropped in objects and become
 * `null` in arrays, non-finite numbers become `null`, `toJSON` is honoured. Throws a TypeError on
 * cycles and BigInt, like `JSON.stringify`.
 *
 * @example canonicalJson({ b: 1, a: [true, { d: null, c: "x" }] }) // '{"a":[true,{"c":"x","d":null}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  const out = write(value, new Set<object>());
  return out ?? "null";
}

function write(value: unknown, seen: Set<object>): string | undefined {
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
  if (seen.has(obj)) throw new TypeError("Converting circular structure to JSON");
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      return `[${obj.map((item: unknown) => write(item, seen) ?? "null").join(",")}]`;
    }
    const record = obj as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const item = write(record[key], seen);
      if (item !== undefined) parts.push(`${JSON.stringify(key)}:${item}`);
    }
    return `{${parts.join(",")}}`;
  } finally {
    seen.delete(obj);
  }
}
