import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Type } from "@sinclair/typebox";
import { ExecutionRequestSchema, StepRequestSchema } from "@mend/wire";
import { schemaErrors } from "./schema-errors.ts";

describe("schemaErrors", () => {
  it("names the discriminator of a union when it has no branch", () => {
    assert.deepEqual(schemaErrors(ExecutionRequestSchema, { sandbox: "vm", code: "1" }), [
      { path: "/sandbox", message: 'Expected one of "codemode", "container", got "vm"' },
    ]);
    assert.deepEqual(schemaErrors(ExecutionRequestSchema, { code: "1" }), [
      { path: "/sandbox", message: 'Required property: one of "codemode", "container"' },
    ]);
  });

  it("reports the errors of the branch the discriminator picks, nested and with unknown fields", () => {
    const errors = schemaErrors(StepRequestSchema, {
      key: "k",
      action: { type: "container", code: "print(1)", limits: { memoryMb: 64, memory: 1 } },
    });
    assert.deepEqual(
      errors.map((e) => e.path),
      ["/action/image", "/action/limits/memory"],
      JSON.stringify(errors),
    );
    assert.match(errors[1]!.message, /Unexpected property/);
  });

  it("picks the closest branch of a union without a discriminator", () => {
    const schema = Type.Union([
      Type.Object({ path: Type.String(), content: Type.String() }, { additionalProperties: false }),
      Type.Object({ path: Type.String(), blob: Type.String() }, { additionalProperties: false }),
    ]);
    assert.deepEqual(
      schemaErrors(schema, { path: "a", blob: 7 }).map((e) => e.path),
      ["/blob"],
    );
  });

  it("is empty for a valid value", () => {
    assert.deepEqual(schemaErrors(ExecutionRequestSchema, { sandbox: "codemode", code: "return 1" }), []);
  });
});
