import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ContainerActionSchema, CodeModeActionSchema } from "@mend/wire";
import { strictCompatible, strictSchemaProblems } from "./strict-schema.ts";

const json = (s: unknown) => JSON.parse(JSON.stringify(s)) as Record<string, unknown>;

describe("strictSchemaProblems", () => {
  it("reports open objects, untyped values, implicit optional fields and unsupported keywords", () => {
    const problems = strictSchemaProblems({
      type: "object",
      properties: {
        limits: { type: "object", additionalProperties: { type: "number" } },
        input: {},
        code: { type: "string", minLength: 1 },
      },
      required: ["code", "input"],
    });
    assert.deepEqual(problems, [
      "/: additionalProperties must be false",
      "/properties/limits: optional but does not accept null (make it explicit: anyOf [T, null])",
      "/properties/limits: additionalProperties must be false",
      "/properties/limits: an object needs properties",
      "/properties/input: no type (an open schema accepts anything)",
      '/properties/code: keyword "minLength" is not supported',
    ]);
  });

  it("accepts a closed schema whose optional fields accept null, and with allRequired asks for every field", () => {
    const schema = {
      type: "object",
      properties: { a: { type: "string" }, b: { anyOf: [{ type: "integer" }, { type: "null" }] } },
      required: ["a"],
      additionalProperties: false,
    };
    assert.deepEqual(strictSchemaProblems(schema), []);
    assert.deepEqual(strictSchemaProblems(schema, { allRequired: true }), ["/properties/b: not required"]);
  });
});

describe("strictCompatible", () => {
  it("turns the wire's execution schemas into strict-compatible ones", () => {
    for (const schema of [ContainerActionSchema, CodeModeActionSchema]) {
      const converted = strictCompatible(json(schema));
      assert.deepEqual(strictSchemaProblems(converted), [], JSON.stringify(converted));
    }
  });

  it("keeps required fields required, makes optional ones nullable with their description outside", () => {
    const out = strictCompatible({
      type: "object",
      properties: {
        code: { type: "string", minLength: 1, maxLength: 10 },
        stdin: { type: "string", description: "bytes on standard input" },
      },
      required: ["code"],
    });
    assert.deepEqual(out, {
      type: "object",
      properties: {
        code: { type: "string" },
        stdin: { description: "bytes on standard input", anyOf: [{ type: "string" }, { type: "null" }] },
      },
      required: ["code"],
      additionalProperties: false,
    });
  });
});
