// Unit tests of the Python stubs generator: namespaces, keyword-only typed parameters, docstrings, TypedDict results.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateToolsPyi } from "./tools-pyi.ts";
import { TEST_TOOLS } from "../testing/codemode-fixtures.ts";

describe("generateToolsPyi", () => {
  const pyi = generateToolsPyi([
    ...TEST_TOOLS,
    {
      name: "crm.find_user",
      description: 'Finds a user by e-mail.\nReturns """None""" when absent.',
      inputSchema: {
        type: "object",
        properties: {
          email: { type: "string", description: "The address" },
          limit: { type: "integer" },
          from: { type: "string" },
        },
        required: ["email"],
      },
      outputSchema: {
        type: "object",
        properties: {
          id: { type: "string" },
          tags: { type: "array", items: { enum: ["a", "b"] } },
          "last-seen": { type: ["string", "null"] },
        },
        required: ["id"],
      },
    },
    { name: "kv.import", inputSchema: { type: "object", properties: {} } },
  ]);

  it("declares one class per namespace and the tools object", () => {
    assert.match(pyi, /^class _Tools:$/m);
    assert.match(pyi, /^class _ToolsGithub:$/m);
    assert.match(pyi, /^ {4}github: _ToolsGithub$/m);
    assert.match(pyi, /^tools: _Tools$/m);
    assert.ok(
      pyi.indexOf("class _ToolsGithub:") < pyi.indexOf("class _Tools:"),
      "namespaces before their parent",
    );
  });

  it("types keyword-only parameters from the input schema, optional ones with a default", () => {
    assert.match(pyi, /def echo\(self, \*, text: str\) -> Any:/);
    assert.match(pyi, /def search\(self, \*, q: str, limit: int = \.\.\.\) -> Any:/);
    assert.match(pyi, /def strict\(self, \*, user: StrictUser\) -> Any:/);
    assert.match(pyi, /class StrictUser\(TypedDict\):\n {4}name: str\n {4}age: int/);
    assert.match(pyi, /def fails\(self\) -> Any:/);
  });

  it("takes a keyword or non-identifier argument through **kwargs and says so", () => {
    assert.match(
      pyi,
      /def find_user\(self, \*, email: str, limit: int = \.\.\., \*\*kwargs: Any\) -> CrmFindUserResult:/,
    );
    assert.match(pyi, /go through \*\*\{\.\.\.\}: "from" \(str\)/);
  });

  it("returns a TypedDict when the tool declares an output schema", () => {
    assert.match(pyi, /CrmFindUserResult = TypedDict\("CrmFindUserResult", \{/);
    assert.match(pyi, /"id": str,/);
    assert.match(pyi, /"tags": NotRequired\[list\[Literal\["a", "b"\]\]\],/);
    assert.match(pyi, /"last-seen": NotRequired\[str \| None\],/);
  });

  it("puts descriptions in docstrings, escaped", () => {
    assert.match(pyi, /"""\n {8}Finds a user by e-mail\.\n {8}Returns \\"\\"\\"None\\"\\"\\" when absent\./);
    assert.match(pyi, /email: The address/);
  });

  it("spells keyword segments with a trailing underscore and offers tools.call", () => {
    assert.match(pyi, /def import_\(self\) -> Any:/);
    assert.match(pyi, /\(The tool "kv\.import"\.\)/);
    assert.match(pyi, /def call\(self, name: str, \/, \*\*kwargs: Any\) -> Any:/);
  });

  it("is stable for the same tools (the loop's prompt must not change between turns)", () => {
    assert.equal(generateToolsPyi([...TEST_TOOLS].reverse()), generateToolsPyi(TEST_TOOLS));
  });
});
