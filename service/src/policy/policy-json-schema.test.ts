import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { POLICY_SCHEMA_PATH, policyJsonSchemaText } from "./policy-json-schema.ts";

describe("policies/schema.json", () => {
  it("is the JSON Schema generated from the zod policy schema (run node service/src/policy/write-schema.ts)", () => {
    assert.equal(readFileSync(POLICY_SCHEMA_PATH, "utf8"), policyJsonSchemaText());
  });

  it("describes a strict object whose only required key is the name", () => {
    const schema = JSON.parse(policyJsonSchemaText()) as {
      required: string[];
      additionalProperties: boolean;
    };
    assert.deepEqual(schema.required, ["name"]);
    assert.equal(schema.additionalProperties, false);
  });
});
