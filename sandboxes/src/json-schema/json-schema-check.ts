// Tool arguments are checked against the tool's plain JSON Schema with TypeBox's compiled validators.
import { Kind, Type, TypeRegistry, type TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import type { RE2JS } from "re2js";
import { canonicalJson } from "../codemode/canonical-json.ts";
import type { JsonSchema } from "../codemode/engine.ts";
import { compilePattern, patternMatches } from "./linear-pattern.ts";

/** One offending field: a JSON Pointer into the arguments (`/` is the root) and what is wrong. */
export interface SchemaError {
  path: string;
  message: string;
}

/** A compiled check of one JSON Schema. */
export interface SchemaCheck {
  /** Returns the offending fields (at most `maxErrors`), empty when the value is valid. */
  errors(value: unknown, maxErrors?: number): SchemaError[];
}

const SCALAR_KEYS = [
  "description",
  "title",
  "default",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
] as const;

function options(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SCALAR_KEYS) if (schema[key] !== undefined) out[key] = schema[key];
  return out;
}

/**
 * A string with a `pattern`: checked by re2js in linear time (TypeBox's own pattern check is the
 * host's backtracking RegExp, which a crafted pattern and string can keep busy for seconds).
 */
const PATTERN_KIND = "Mend.PatternString";

interface PatternString {
  re2: RE2JS;
  source: string;
  minLength?: number;
  maxLength?: number;
}

/** Why a value fails a PatternString, or undefined when it passes. */
function patternStringError(schema: PatternString, value: unknown): string | undefined {
  if (typeof value !== "string") return "Expected string";
  if (schema.minLength !== undefined && value.length < schema.minLength)
    return `Expected string length greater or equal to ${schema.minLength}`;
  if (schema.maxLength !== undefined && value.length > schema.maxLength)
    return `Expected string length less or equal to ${schema.maxLength}`;
  if (!patternMatches(schema.re2, value)) return `Expected string to match '${schema.source}'`;
  return undefined;
}

if (!TypeRegistry.Has(PATTERN_KIND)) {
  TypeRegistry.Set<PatternString>(
    PATTERN_KIND,
    (schema, value) => patternStringError(schema, value) === undefined,
  );
}

function patternString(schema: Record<string, unknown>, opts: Record<string, unknown>): TSchema {
  const compiled = compilePattern(schema.pattern);
  if (typeof compiled === "string") throw new TypeError(`pattern: ${compiled}`);
  return Type.Unsafe<string>({
    ...opts,
    [Kind]: PATTERN_KIND,
    type: "string",
    source: schema.pattern as string,
    re2: compiled,
  });
}

function literal(value: unknown): TSchema {
  if (value === null) return Type.Null();
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    return Type.Literal(value);
  return Type.Unknown();
}

function ofType(type: string, schema: Record<string, unknown>): TSchema {
  const opts = options(schema);
  switch (type) {
    case "string":
      return "pattern" in schema ? patternString(schema, opts) : Type.String(opts);
    case "number":
      return Type.Number(opts);
    case "integer":
      return Type.Integer(opts);
    case "boolean":
      return Type.Boolean(opts);
    case "null":
      return Type.Null(opts);
    case "array": {
      const items = schema.items;
      const item = items !== undefined && !Array.isArray(items) ? fromJsonSchema(items) : Type.Unknown();
      return Type.Array(item, opts);
    }
    case "object": {
      const props = (schema.properties ?? {}) as Record<string, unknown>;
      const required = new Set(Array.isArray(schema.required) ? (schema.required as unknown[]) : []);
      const shape: Record<string, TSchema> = {};
      for (const [key, sub] of Object.entries(props)) {
        const converted = fromJsonSchema(sub);
        shape[key] = required.has(key) ? converted : Type.Optional(converted);
      }
      // Required keys without a declared property still have to be present.
      for (const key of required) {
        if (typeof key === "string" && !(key in shape)) shape[key] = Type.Unknown();
      }
      const extra = schema.additionalProperties;
      const additionalProperties =
        extra === false ? false : extra !== undefined && extra !== true ? fromJsonSchema(extra) : undefined;
      return Type.Object(
        shape,
        additionalProperties === undefined ? opts : { ...opts, additionalProperties },
      );
    }
    default:
      return Type.Unknown();
  }
}

/**
 * Converts a plain JSON Schema into an equivalent TypeBox schema (the subset tools use: type,
 * properties/required/additionalProperties, items, enum, const, anyOf/oneOf/allOf and the usual
 * bounds). `oneOf` is checked as `anyOf`; `$ref`, `format` and unknown keywords are not enforced.
 * `pattern` is compiled with re2js (linear time); a pattern it cannot compile throws.
 *
 * @example fromJsonSchema({ type: "object", properties: { q: { type: "string" } }, required: ["q"] })
 */
export function fromJsonSchema(input: unknown): TSchema {
  if (input === true || input === undefined) return Type.Unknown();
  if (input === false) return Type.Never();
  if (input === null || typeof input !== "object" || Array.isArray(input)) return Type.Unknown();
  const schema = input as Record<string, unknown>;
  if ("const" in schema) return literal(schema.const);
  if (Array.isArray(schema.enum)) return Type.Union(schema.enum.map(literal));
  for (const key of ["anyOf", "oneOf"] as const) {
    const list = schema[key];
    if (Array.isArray(list) && list.length > 0) return Type.Union(list.map(fromJsonSchema));
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0)
    return Type.Intersect(schema.allOf.map(fromJsonSchema));
  const type = schema.type;
  if (Array.isArray(type)) return Type.Union(type.map((t) => ofType(String(t), schema)));
  if (typeof type === "string") return ofType(type, schema);
  if (schema.properties !== undefined) return ofType("object", schema);
  return Type.Unknown();
}

const CACHE_LIMIT = 512;
const cache = new Map<string, TypeCheck<TSchema>>();
/**
 * The validator of a schema object already seen, by identity: a tool's schema object is checked on every
 * call, and keying it by its canonical JSON each time cost more than the check. Schemas are never mutated
 * once a tool is defined (a re-registered tool is a new object).
 */
const byObject = new WeakMap<object, SchemaCheck>();

/**
 * Compiles (once per distinct schema, cached) a validator for a tool's input schema.
 *
 * @example compileSchema({ type: "object", required: ["q"] }).errors({}) // [{ path: "/q", message: "Expected required property" }]
 */
export function compileSchema(schema: JsonSchema): SchemaCheck {
  const seen = byObject.get(schema);
  if (seen !== undefined) return seen;
  const made = compileByValue(schema);
  byObject.set(schema, made);
  return made;
}

function compileByValue(schema: JsonSchema): SchemaCheck {
  const key = canonicalJson(schema);
  let check = cache.get(key);
  if (check === undefined) {
    try {
      check = TypeCompiler.Compile(fromJsonSchema(schema));
    } catch (e) {
      // An unusable schema (e.g. from an MCP server) makes every call fail as invalid, never the host.
      const reason = `the tool's input schema cannot be used: ${(e as Error).message}`;
      return { errors: () => [{ path: "/", message: reason }] };
    }
    if (cache.size >= CACHE_LIMIT) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(key, check);
  }
  const compiled = check;
  return {
    errors(value, maxErrors = 10) {
      if (compiled.Check(value)) return [];
      const out: SchemaError[] = [];
      for (const error of compiled.Errors(value)) {
        const message =
          error.schema[Kind] === PATTERN_KIND
            ? (patternStringError(error.schema as unknown as PatternString, error.value) ?? error.message)
            : error.message;
        out.push({ path: error.path === "" ? "/" : error.path, message });
        if (out.length >= maxErrors) break;
      }
      return out;
    },
  };
}
