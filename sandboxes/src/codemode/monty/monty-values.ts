// Python values ↔ JSON at the Monty boundary, bounded in depth and size (runs in the child process).
//
// Monty hands Python values to JavaScript as: numbers, bigints, strings, booleans, null, arrays (tuples
// carry a `__tuple__` flag), Maps (dicts), Sets, Buffers (bytes), strings for Python functions, and
// plain objects tagged `__monty_type__` (datetime, Exception, type, …). Values going into Monty are
// built from JSON with objects as Maps, so a tool's JSON can never be read as a tagged object.

/** Nesting deeper than this is refused both ways (a host recursion stays far from the stack limit). */
export const MAX_VALUE_DEPTH = 512;

/** Why a Python value is not JSON: where it is and what it is. */
export type JsonProblem =
  | { problem: "not_json"; path: string; type: string }
  | { problem: "too_deep"; path: string; depth: number }
  | { problem: "too_big"; bytes?: number };

const TAGGED: Record<string, string> = {
  Date: "datetime.date",
  DateTime: "datetime.datetime",
  TimeDelta: "datetime.timedelta",
  TimeZone: "datetime.timezone",
  Exception: "exception",
  Type: "type",
  BuiltinFunction: "builtin function",
  Ellipsis: "ellipsis",
};

/** The Python type name of a value as Monty hands it over, for messages. */
export function pythonTypeOf(value: unknown): string {
  if (value === null) return "NoneType";
  if (value instanceof Map) return "dict";
  if (value instanceof Set) return "set";
  if (value instanceof Uint8Array) return "bytes";
  if (Array.isArray(value)) return (value as { __tuple__?: boolean }).__tuple__ === true ? "tuple" : "list";
  if (typeof value === "object") {
    const tag = (value as { __monty_type__?: unknown; name?: unknown }).__monty_type__;
    if (tag === "Dataclass") {
      const name = (value as { name?: unknown }).name;
      return typeof name === "string" ? name : "object";
    }
    if (typeof tag === "string") return TAGGED[tag] ?? tag;
    return "object";
  }
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (typeof value === "bigint") return "int";
  if (typeof value === "string") return "str";
  if (typeof value === "boolean") return "bool";
  return typeof value;
}

function mapKey(key: unknown): string | undefined {
  // json.dumps' rule: str, int, float, bool and None keys; the others are refused.
  if (typeof key === "string") return key;
  if (typeof key === "number") return Number.isFinite(key) ? String(key) : key > 0 ? "Infinity" : "-Infinity";
  if (typeof key === "bigint") return key.toString();
  if (typeof key === "boolean") return key ? "true" : "false";
  if (key === null) return "null";
  return undefined;
}

/**
 * The JSON text of a Python value, like `json.dumps` with tuples as arrays and non-finite floats as
 * null (the JavaScript engines' rule). Sets, bytes, datetimes, functions and other objects are refused
 * with their path; output over `maxBytes` (UTF-8) or nesting over `maxDepth` stops early. Monty
 * itself hands over values nested deeper than the recursion limit as the text "<deeply nested>":
 * `maxDepth` is kept below that limit, so such a value is refused rather than returned altered.
 *
 * @example toJsonText(new Map([["a", [1, 2]]]), 100) // { ok: true, json: '{"a":[1,2]}' }
 */
export function toJsonText(
  value: unknown,
  maxBytes: number,
  maxDepth = MAX_VALUE_DEPTH,
): { ok: true; json: string } | ({ ok: false } & JsonProblem) {
  const parts: string[] = [];
  let chars = 0;
  const push = (text: string): boolean => {
    parts.push(text);
    chars += text.length;
    // UTF-8 takes at least one byte per UTF-16 unit: over the cap in units is over in bytes.
    return chars <= maxBytes;
  };
  let failure: JsonProblem | undefined;
  // The path is built only when a value is refused (a result may have millions of elements).
  const trail: string[] = [];
  const path = (): string => trail.map((k) => `/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
  const write = (v: unknown, depth: number): boolean => {
    if (depth > maxDepth) {
      failure = { problem: "too_deep", path: path(), depth: maxDepth };
      return false;
    }
    if (v === null || v === undefined) return push("null");
    switch (typeof v) {
      case "string":
        return push(JSON.stringify(v));
      case "boolean":
        return push(v ? "true" : "false");
      case "number":
        return push(Number.isFinite(v) ? JSON.stringify(v) : "null");
      case "bigint":
        return push(v.toString());
    }
    if (Array.isArray(v)) {
      if (!push("[")) return false;
      for (let i = 0; i < v.length; i++) {
        if (i > 0 && !push(",")) return false;
        trail.push(String(i));
        if (!write(v[i], depth + 1)) return false;
        trail.pop();
      }
      return push("]");
    }
    if (v instanceof Map) {
      if (!push("{")) return false;
      let first = true;
      for (const [k, item] of v) {
        const key = mapKey(k);
        if (key === undefined) {
          failure = { problem: "not_json", path: path(), type: `dict with a ${pythonTypeOf(k)} key` };
          return false;
        }
        if (!first && !push(",")) return false;
        first = false;
        if (!push(`${JSON.stringify(key)}:`)) return false;
        trail.push(key);
        if (!write(item, depth + 1)) return false;
        trail.pop();
      }
      return push("}");
    }
    failure = { problem: "not_json", path: path(), type: pythonTypeOf(v) };
    return false;
  };
  const ok = write(value, 0);
  if (!ok) return { ok: false, ...(failure ?? { problem: "too_big" }) };
  const json = parts.join("");
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) return { ok: false, problem: "too_big", bytes };
  return { ok: true, json };
}

/**
 * A JSON value as Monty input: objects become Maps (dicts), arrays lists. Throws a RangeError past
 * MAX_VALUE_DEPTH levels.
 *
 * @example fromJson({ a: [1] }) // Map { "a" => [1] }
 */
export function fromJson(value: unknown, depth = 0): unknown {
  if (depth > MAX_VALUE_DEPTH) throw new RangeError(`nests deeper than ${MAX_VALUE_DEPTH} levels`);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item: unknown) => fromJson(item, depth + 1));
  const map = new Map<string, unknown>();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) map.set(k, fromJson(v, depth + 1));
  return map;
}

/** A sentence for the guest or the failure: what is wrong with a value that is not JSON. */
export function describeProblem(p: JsonProblem, what: string): string {
  switch (p.problem) {
    case "not_json":
      return `${what}${p.path === "" ? "" : ` at ${p.path}`} is a ${p.type}, which is not JSON (use dicts, lists, str, int, float, bool and None)`;
    case "too_deep":
      return `${what} nests deeper than ${p.depth} levels${p.path === "" ? "" : ` (at ${p.path.length > 60 ? `${p.path.slice(0, 60)}…` : p.path})`}`;
    case "too_big":
      return `${what} is ${p.bytes === undefined ? "over the cap" : `${p.bytes} bytes`} of JSON`;
  }
}
