// JSON Schemas that convert to OpenAI's strict mode (Structured Outputs / strict function calling): closed
// objects, optional fields that accept null, only the keywords strict mode supports. Agents built on strict
// tool calling (the OpenAI Agents SDK's convertSchemasToStrict, Responses API `strict: true`) can use them as is.

type Json = Record<string, unknown>;

/** Keywords OpenAI's strict mode accepts (its "supported schemas" list); anything else is dropped or reported. */
const SUPPORTED = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "anyOf",
  "enum",
  "const",
  "description",
  "title",
  "$ref",
  "$defs",
  "definitions",
  // strings
  "pattern",
  "format",
  // numbers
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  // arrays
  "minItems",
  "maxItems",
]);

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Whether a schema (as written) accepts null. */
function acceptsNull(s: Json): boolean {
  if (s.type === "null" || (Array.isArray(s.type) && s.type.includes("null"))) return true;
  if (Array.isArray(s.enum) && s.enum.includes(null)) return true;
  if (s.const === null) return true;
  return Array.isArray(s.anyOf) && s.anyOf.some((b) => isObject(b) && acceptsNull(b));
}

/** `s` or null, keeping its description on the outside where a model reads it. */
function nullable(s: Json): Json {
  if (acceptsNull(s)) return s;
  if (Array.isArray(s.anyOf)) return { ...s, anyOf: [...s.anyOf, { type: "null" }] };
  const { description, ...rest } = s;
  return { ...(description !== undefined ? { description } : {}), anyOf: [rest, { type: "null" }] };
}

/**
 * A strict-mode-compatible copy of `schema`: every object closed (`additionalProperties: false`), every
 * optional property made explicit (`anyOf: [T, {type: "null"}]`, still optional for other clients — the
 * receiver treats null as absent), keywords strict mode does not support (minLength, maxLength, $id,
 * default, ...) dropped. The receiver must still validate with the original schema.
 * @example strictCompatible({ type: "object", properties: { n: { type: "integer" } } }).properties.n // { anyOf: [{ type: "integer" }, { type: "null" }] }
 */
export function strictCompatible(schema: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) {
    if (!SUPPORTED.has(k)) continue;
    if (k === "properties" && isObject(v)) {
      const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
      out.properties = Object.fromEntries(
        Object.entries(v).map(([name, p]) => {
          const converted = strictCompatible(p as Json);
          return [name, required.has(name) ? converted : nullable(converted)];
        }),
      );
    } else if (k === "items" && isObject(v)) out.items = strictCompatible(v);
    else if (k === "anyOf" && Array.isArray(v)) out.anyOf = v.map((b) => strictCompatible(b as Json));
    else if ((k === "$defs" || k === "definitions") && isObject(v))
      out[k] = Object.fromEntries(Object.entries(v).map(([n, d]) => [n, strictCompatible(d as Json)]));
    else out[k] = v;
  }
  if (out.type === "object" || isObject(out.properties)) {
    out.type = "object";
    out.properties ??= {};
    out.additionalProperties = false;
    out.required ??= [];
  }
  return out;
}

/**
 * What keeps `schema` from converting to OpenAI strict mode without changing what it accepts; `[]` when it
 * converts. With `allRequired` (a schema already converted) every property must also be listed in `required`.
 * @example strictSchemaProblems({ type: "object", properties: { a: {} } }) // ["/properties/a: no type", "/: additionalProperties must be false", ...]
 */
export function strictSchemaProblems(schema: unknown, opts: { allRequired?: boolean } = {}): string[] {
  const problems: string[] = [];
  if (!isObject(schema) || schema.type !== "object") problems.push("/: the root must be an object schema");
  const walk = (s: unknown, at: string, depth: number): void => {
    if (!isObject(s)) return void problems.push(`${at}: not a schema object`);
    if (depth > 10) return void problems.push(`${at}: nested deeper than 10 levels`);
    for (const k of Object.keys(s))
      if (!SUPPORTED.has(k)) problems.push(`${at}: keyword "${k}" is not supported`);
    const typed = "type" in s || "anyOf" in s || "enum" in s || "const" in s || "$ref" in s;
    if (!typed) problems.push(`${at}: no type (an open schema accepts anything)`);
    const isObj = s.type === "object" || (Array.isArray(s.type) && s.type.includes("object"));
    if (isObj) {
      if (s.additionalProperties !== false) problems.push(`${at}: additionalProperties must be false`);
      if (!isObject(s.properties)) problems.push(`${at}: an object needs properties`);
    }
    if (isObject(s.properties)) {
      const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
      for (const [name, p] of Object.entries(s.properties)) {
        const where = `${at === "/" ? "" : at}/properties/${name}`;
        if (!required.has(name) && (opts.allRequired || !isObject(p) || !acceptsNull(p)))
          problems.push(
            `${where}: ${opts.allRequired ? "not required" : "optional but does not accept null (make it explicit: anyOf [T, null])"}`,
          );
        walk(p, where, depth + 1);
      }
    }
    if (s.items !== undefined) walk(s.items, `${at === "/" ? "" : at}/items`, depth + 1);
    if (Array.isArray(s.anyOf))
      s.anyOf.forEach((b, i) => walk(b, `${at === "/" ? "" : at}/anyOf/${i}`, depth + 1));
    for (const key of ["$defs", "definitions"] as const) {
      const defs = s[key];
      if (isObject(defs))
        for (const [n, d] of Object.entries(defs)) walk(d, `${at === "/" ? "" : at}/${key}/${n}`, depth + 1);
    }
  };
  if (isObject(schema)) walk(schema, "/", 0);
  return problems;
}
