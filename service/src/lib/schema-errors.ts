// What is wrong with a value, field by field: TypeBox's errors, with unions resolved to the branch the value
// meant (its discriminator, or the closest branch), so `{"sandbox": "vm"}` is reported at /sandbox.
import { ValueErrorType, type ValueError } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";
import type { TSchema } from "@sinclair/typebox";

/** One offending field: its JSON pointer ("/" for the value itself) and what is expected there. */
export interface SchemaError {
  path: string;
  message: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** A property that is a literal in every branch (e.g. `sandbox`, `type`): the branch's name. */
function discriminator(branches: Json[]): string | undefined {
  const first = branches[0]?.properties;
  if (!isObject(first)) return undefined;
  return Object.keys(first).find((key) =>
    branches.every((b) => {
      const p = (b.properties as Json | undefined)?.[key];
      return isObject(p) && p.const !== undefined;
    }),
  );
}

function* explain(error: ValueError, depth: number): Generator<SchemaError> {
  const schema = error.schema as Json;
  const branches = Array.isArray(schema.anyOf) ? (schema.anyOf as Json[]) : null;
  if (error.type !== ValueErrorType.Union || !branches || depth > 8) {
    yield { path: error.path || "/", message: error.message };
    return;
  }
  const value = error.value;
  const key = isObject(value) ? discriminator(branches) : undefined;
  let branch: Json | undefined;
  if (key !== undefined && isObject(value)) {
    const names = branches.map((b) => (b.properties as Json)[key] as Json).map((p) => p.const);
    branch = branches.find((b) => ((b.properties as Json)[key] as Json).const === value[key]);
    if (!branch) {
      const expected = names.map((n) => JSON.stringify(n)).join(", ");
      yield {
        path: `${error.path}/${key}`,
        message:
          value[key] === undefined
            ? `Required property: one of ${expected}`
            : `Expected one of ${expected}, got ${JSON.stringify(value[key])}`,
      };
      return;
    }
  } else {
    // No discriminator: the branch the value is closest to (fewest errors) says what is wrong.
    let fewest = Infinity;
    for (const b of branches) {
      const n = [...Value.Errors(b as unknown as TSchema, value)].length;
      if (n < fewest) [fewest, branch] = [n, b];
    }
  }
  for (const inner of Value.Errors(branch as unknown as TSchema, value)) {
    for (const e of explain(inner, depth + 1))
      yield { path: `${error.path}${e.path === "/" ? "" : e.path}` || "/", message: e.message };
  }
}

/**
 * The errors of `value` against `schema` (at most `max`), each naming the offending field; `[]` when it
 * is valid. A union reports the errors of the branch the value meant, not "Expected union value".
 * `errors` may come from a compiled checker of `schema` (the same errors, found faster).
 * @example schemaErrors(ExecutionRequestSchema, { sandbox: "vm", code: "1" }) // [{ path: "/sandbox", message: 'Expected one of "codemode", "container", got "vm"' }]
 */
export function schemaErrors(
  schema: TSchema,
  value: unknown,
  max = 20,
  errors: Iterable<ValueError> = Value.Errors(schema, value),
): SchemaError[] {
  const out: SchemaError[] = [];
  for (const error of errors) {
    for (const e of explain(error, 0)) {
      // One message per field: a missing property is also "Expected string"; the first says it best.
      if (!out.some((o) => o.path === e.path)) out.push(e);
      if (out.length >= max) return out;
    }
  }
  return out;
}
