// The generated tools.d.ts must type-check, together with a script that uses it, under the TypeScript compiler.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import ts from "typescript";
import type { ToolBinding } from "./engine.ts";
import { generateToolsDts, schemaToTs } from "./tools-dts.ts";

const TOOLS: ToolBinding[] = [
  {
    name: "echo",
    description: "Returns its text.",
    inputSchema: {
      type: "object",
      properties: { text: { type: "string", description: "What to echo." } },
      required: ["text"],
    },
  },
  {
    name: "github.search",
    description: "Searches issues.\nReturns at most `limit` hits.",
    inputSchema: {
      type: "object",
      properties: {
        q: { type: "string" },
        limit: { type: "integer" },
        state: { enum: ["open", "closed"] },
        labels: { type: "array", items: { type: "string" } },
        sort: { anyOf: [{ const: "created" }, { const: "updated" }] },
        extra: { type: ["string", "null"] },
        "weird-key": { type: "boolean" },
        meta: { type: "object", additionalProperties: { type: "number" } },
        both: {
          allOf: [
            { type: "object", properties: { a: { type: "string" } } },
            { type: "object", properties: { b: { type: "number" } } },
          ],
        },
      },
      required: ["q"],
    },
  },
  {
    name: "github.issues.get",
    inputSchema: { type: "object", properties: { id: { type: "number" } }, required: ["id"] },
  },
  { name: "anything", inputSchema: {} },
];

function typeCheck(files: Record<string, string>): string[] {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts"],
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (name) => files[name] ?? readFile(name);
  host.fileExists = (name) => name in files || fileExists(name);
  host.getSourceFile = (name, version, onError) =>
    name in files ? ts.createSourceFile(name, files[name]!, version) : getSourceFile(name, version, onError);
  const program = ts.createProgram(Object.keys(files), options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

describe("generateToolsDts", () => {
  const dts = generateToolsDts(TOOLS);

  it("declares nested namespaces with JSDoc", () => {
    assert.match(dts, /declare const tools: \{/);
    assert.match(dts, /\/\*\* Returns its text\. \*\//);
    assert.match(dts, /\/\*\* What to echo\. \*\//);
    assert.match(dts, /github: \{/);
    assert.match(dts, /issues: \{/);
    assert.match(dts, /"weird-key"\?: boolean;/);
  });

  it("type-checks together with a script that uses it", () => {
    const script = `async function main() {
  const a = await tools.echo({ text: "hi" });
  const b = await tools.github.search({ q: "bug", limit: 3, state: "open", labels: ["x"], sort: "created", extra: null, meta: { n: 1 }, both: { a: "s", b: 2 } });
  const c = await tools.github.issues.get({ id: 7 });
  await tools.anything({ whatever: [1, 2] });
  return [a, b, c];
}
void main;
export {};
`;
    assert.deepEqual(typeCheck({ "/tools.d.ts": dts, "/script.ts": script }), []);
  });

  it("rejects a script that misuses a tool", () => {
    const script = `async function main() { await tools.github.search({ q: 1, state: "merged" }); await tools.echo({}); }\nvoid main;\nexport {};\n`;
    const errors = typeCheck({ "/tools.d.ts": dts, "/script.ts": script });
    assert.ok(errors.length >= 2, errors.join("\n"));
  });

  it("maps schema keywords to types", () => {
    assert.equal(schemaToTs({ type: "string" }), "string");
    assert.equal(schemaToTs({ type: "integer" }), "number");
    assert.equal(schemaToTs({ enum: ["a", 1, null] }), '("a") | (1) | (null)');
    assert.equal(schemaToTs({ const: true }), "true");
    assert.equal(schemaToTs({ type: "array", items: { type: "number" } }), "number[]");
    assert.equal(schemaToTs({ $ref: "#/x" }), "unknown");
    assert.equal(schemaToTs({ type: ["string", "null"] }), "(string) | (null)");
  });

  it("declares an empty tools object when nothing is bound", () => {
    assert.deepEqual(
      typeCheck({ "/tools.d.ts": generateToolsDts([]), "/script.ts": "void tools;\nexport {};\n" }),
      [],
    );
  });
});
