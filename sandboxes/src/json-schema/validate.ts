// Validation entry points for the service (tool arguments, tool outputs, registration-time schema checks).
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { compileSchema, fromJsonSchema, type SchemaError } from "./json-schema-check.ts";

export type { SchemaError };

/**
 * Every way `value` breaks `schema` (at most 20), or [] when it conforms.
 * @example validateAgainstSchema({ type: "object", required: ["q"] }, {}) // [{ path: "/q", ... }]
 */
export function validateAgainstSchema(schema: Record<string, unknown>, value: unknown): SchemaError[] {
  return compileSchema(schema).errors(value, 20);
}

/** Throws when a schema cannot be used to validate (used at tool registration). */
export function assertUsableSchema(schema: unknown): void {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw new TypeError("a tool's inputSchema must be a JSON Schema object");
  }
  TypeCompiler.Compile(fromJsonSchema(schema));
}
