import { test } from "node:test";
import assert from "node:assert/strict";
import { checkToolSchema } from "./schema-check.ts";

test("a usable object schema has no problems", () => {
  const schema = {
    type: "object",
    properties: { q: { type: "string", pattern: "^a" }, n: { type: ["integer", "null"] } },
    required: ["q"],
  };
  assert.deepEqual(checkToolSchema(schema, "/inputSchema", true), []);
});

test("each unusable part is reported with its JSON path", () => {
  const problems = checkToolSchema(
    {
      type: "object",
      properties: { q: { type: "strin" }, r: { type: "string", pattern: "(" }, s: { $ref: "#/defs/x" } },
      required: "q",
    },
    "/inputSchema",
    true,
  );
  assert.deepEqual(
    problems.map((p) => p.path),
    [
      "/inputSchema/properties/q/type",
      "/inputSchema/properties/r/pattern",
      "/inputSchema/properties/s/$ref",
      "/inputSchema/required",
    ],
  );
});

test("an input schema must describe an object; an output schema need not", () => {
  assert.match(checkToolSchema({ type: "string" }, "/inputSchema", true)[0]!.message, /must be an object/);
  assert.deepEqual(checkToolSchema({ type: "string" }, "/outputSchema", false), []);
  assert.match(checkToolSchema([1], "/inputSchema", true)[0]!.message, /expected a JSON Schema object/);
});
