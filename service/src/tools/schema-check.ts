// Checks at registration that a tool's JSON Schema is one the service can validate with, naming each bad path.
import { assertUsableSchema, patternProblem } from "@mend/sandboxes";

export interface SchemaProblem {
  /** JSON Pointer into the request body, e.g. /inputSchema/properties/q/type. */
  path: string;
  message: string;
}

const TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);
const NUMBER_KW = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];
const COUNT_KW = ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"];
const MAX_DEPTH = 32;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const esc = (k: string) => k.replace(/~/g, "~0").replace(/\//g, "~1");

function walk(s: unknown, path: string, depth: number, out: SchemaProblem[]): void {
  if (out.length >= 20) return;
  if (typeof s === "boolean") return;
  if (!isObject(s)) return void out.push({ path, message: "expected a JSON Schema object or boolean" });
  if (depth > MAX_DEPTH) return void out.push({ path, message: `nested deeper than ${MAX_DEPTH} levels` });
  if ("$ref" in s)
    out.push({ path: `${path}/$ref`, message: "$ref is not supported; inline the referenced schema" });
  const types = Array.isArray(s.type) ? s.type : s.type === undefined ? [] : [s.type];
  for (const t of types) {
    if (typeof t !== "string" || !TYPES.has(t)) {
      out.push({
        path: `${path}/type`,
        message: `unknown type ${JSON.stringify(t)}; expected one of ${[...TYPES].join(", ")}`,
      });
    }
  }
  if ("properties" in s) {
    if (!isObject(s.properties))
      out.push({ path: `${path}/properties`, message: "expected an object of schemas" });
    else
      for (const [k, v] of Object.entries(s.properties))
        walk(v, `${path}/properties/${esc(k)}`, depth + 1, out);
  }
  if ("required" in s && !(Array.isArray(s.required) && s.required.every((r) => typeof r === "string"))) {
    out.push({ path: `${path}/required`, message: "expected an array of property names" });
  }
  for (const k of ["items", "additionalProperties"]) if (k in s) walk(s[k], `${path}/${k}`, depth + 1, out);
  for (const k of ["anyOf", "oneOf", "allOf"]) {
    if (!(k in s)) continue;
    const list = s[k];
    if (!Array.isArray(list) || list.length === 0)
      out.push({ path: `${path}/${k}`, message: "expected a non-empty array of schemas" });
    else list.forEach((v, i) => walk(v, `${path}/${k}/${i}`, depth + 1, out));
  }
  if ("enum" in s && !(Array.isArray(s.enum) && s.enum.length > 0)) {
    out.push({ path: `${path}/enum`, message: "expected a non-empty array" });
  }
  if ("pattern" in s) {
    const why = patternProblem(s.pattern);
    if (why) out.push({ path: `${path}/pattern`, message: why });
  }
  for (const k of NUMBER_KW)
    if (k in s && typeof s[k] !== "number") out.push({ path: `${path}/${k}`, message: "expected a number" });
  for (const k of COUNT_KW) {
    if (k in s && !(Number.isInteger(s[k]) && (s[k] as number) >= 0)) {
      out.push({ path: `${path}/${k}`, message: "expected a non-negative integer" });
    }
  }
}

/**
 * Every reason `schema` is unusable as a tool schema (empty when usable). Input schemas must describe an
 * object, since tools are called with one argument object.
 * @example checkToolSchema({ type: "object", properties: { q: { type: "strin" } } }, "/inputSchema", true)
 *   // [{ path: "/inputSchema/properties/q/type", message: "unknown type \"strin\"; ..." }]
 */
export function checkToolSchema(schema: unknown, path: string, mustBeObject: boolean): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  walk(schema, path, 0, out);
  if (out.length === 0 && mustBeObject && isObject(schema)) {
    const t = schema.type;
    if (t !== "object" && !(t === undefined && "properties" in schema)) {
      out.push({
        path: `${path}/type`,
        message: 'a tool\'s input must be an object: expected "type": "object"',
      });
    }
  }
  if (out.length === 0) {
    try {
      assertUsableSchema(schema);
    } catch (e) {
      out.push({ path, message: `not a usable JSON Schema: ${(e as Error).message}` });
    }
  }
  return out;
}
