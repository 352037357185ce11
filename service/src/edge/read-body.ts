// Reads a JSON request body and validates it against a TypeBox schema, with positions and JSON paths.
import type { Context } from "hono";
import type { Static, TObject, TSchema } from "@sinclair/typebox";
import { MAX_JSON_DEPTH, jsonTextDepth } from "@mend/wire";
import { HttpProblem } from "./problem.ts";
import { schemaErrors } from "../lib/schema-errors.ts";
import { compiledCheck } from "../lib/compiled-check.ts";

/** Without `stream`, decode keeps no state between calls: one decoder serves every request. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Validates a value; throws a 400 validation problem listing every offending path (a union's by its branch). */
export function validate<T extends TSchema>(schema: T, value: unknown, where = "body"): Static<T> {
  const check = compiledCheck(schema);
  if (check.Check(value)) return value;
  const errors = schemaErrors(schema, value, 20, check.Errors(value));
  const first = errors[0];
  throw new HttpProblem(
    400,
    "validation",
    `${where} is invalid${first ? `: ${first.path} ${first.message}` : ""}`,
    { errors },
  );
}

/**
 * Parses a JSON request text: 400 when it nests arrays/objects deeper than MAX_JSON_DEPTH (checked by a
 * linear scan before parsing, so no recursive code ever walks such a value) or does not parse.
 * @example const value = parseJsonText(await c.req.text())
 */
export function parseJsonText(text: string): unknown {
  if (jsonTextDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new HttpProblem(
      400,
      "validation",
      `request body is nested deeper than ${MAX_JSON_DEPTH} levels of arrays and objects, the limit`,
      {
        errors: [{ path: "/", message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
        maxDepth: MAX_JSON_DEPTH,
      },
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpProblem(400, "malformed-json", `request body is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * The request's Idempotency-Key header: undefined when absent; 400 when present but empty, longer than
 * 256 characters or holding control characters (an empty key once reached the store as a duplicate).
 * @example const key = idempotencyKey(c)
 */
export function idempotencyKey(c: Context): string | undefined {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return undefined;
  const why =
    key.trim() === ""
      ? "is empty"
      : key.length > 256
        ? "is longer than 256 characters"
        : hasControlCharacter(key)
          ? "holds control characters"
          : undefined;
  if (why === undefined) return key;
  throw new HttpProblem(
    400,
    "validation",
    `the Idempotency-Key header ${why}; send 1 to 256 visible characters, or no header`,
    {
      errors: [{ path: "/headers/idempotency-key", message: why }],
    },
  );
}

/**
 * Parses the body as JSON (400 with the parser's position when malformed, or when nested deeper than
 * MAX_JSON_DEPTH) and validates it.
 * @example const body = await readBody(c, CreateRunSchema)
 */
export async function readBody<T extends TSchema>(c: Context, schema: T): Promise<Static<T>> {
  // JSON only: a form or text/plain body is what a cross-site page can send without a preflight.
  const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json" && !type?.endsWith("+json")) {
    throw new HttpProblem(
      415,
      "unsupported-media-type",
      `expected content-type application/json, got ${type ?? "none"}`,
    );
  }
  let text: string;
  try {
    text = UTF8.decode(await c.req.arrayBuffer());
  } catch {
    throw new HttpProblem(400, "malformed-json", "request body is not valid UTF-8");
  }
  if (text.trim() === "")
    throw new HttpProblem(400, "malformed-json", "request body is empty; expected JSON");
  return validate(schema, parseJsonText(text));
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * The query string as the schema types it: numeric parameters parsed (a typed client sends `limit=2` for
 * `limit: 2`), then validated like a body (400 naming the offending parameter).
 * @example const q = readQuery(c, ListRunsQuerySchema) // q.limit is a number
 */
export function readQuery<T extends TObject>(c: Context, schema: T): Static<T> {
  const raw = c.req.query();
  const value: Record<string, unknown> = { ...raw };
  for (const [name, p] of Object.entries(schema.properties) as [string, { type?: unknown }][]) {
    const v = raw[name];
    if (v !== undefined && (p.type === "integer" || p.type === "number") && /^-?\d+(\.\d+)?$/.test(v))
      value[name] = Number(v);
  }
  return validate(schema, value, "query");
}
