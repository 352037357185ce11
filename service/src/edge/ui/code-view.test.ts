// Unit tests of the code view: colouring, escaping, line numbers and the failing-line mark.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { codeBlock, languageOf, tokenizeLines } from "./code-view.ts";

describe("code view", () => {
  it("colours keywords, strings, comments and numbers per line", () => {
    const lines = tokenizeLines('const a = "x"; // note\nreturn 42;', "javascript");
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0]![0], { type: "kw", text: "const" });
    assert.ok(lines[0]!.some((t) => t.type === "str" && t.text === '"x"'));
    assert.ok(lines[0]!.some((t) => t.type === "com" && t.text === "// note"));
    assert.ok(lines[1]!.some((t) => t.type === "num" && t.text === "42"));
  });

  it("cuts a multi-line comment into one token per line", () => {
    const lines = tokenizeLines("/* a\nb */ x", "javascript");
    assert.deepEqual(lines[0], [{ type: "com", text: "/* a" }]);
    assert.deepEqual(lines[1]![0], { type: "com", text: "b */" });
  });

  it("escapes markup in code and marks the failing line with its note", async () => {
    const out = String(
      await codeBlock("let a = 1;\nthrow '<script>';\n", "javascript", {
        line: 2,
        column: 1,
        note: "runtime_error: <b>",
      }),
    );
    assert.ok(!out.includes("<script>"));
    assert.match(out, /&lt;script&gt;/);
    assert.match(out, /class="line failing" data-line="2" id="failing-line"/);
    assert.match(out, /line 2:1: runtime_error: &lt;b&gt;/);
    assert.equal(out.match(/class="line[ "]/g)?.length, 2, "a trailing newline adds no empty line");
  });

  it("picks the language from a container image or a code-mode language", () => {
    assert.equal(languageOf({ image: "python" }), "python");
    assert.equal(languageOf({ image: "shell" }), "shell");
    assert.equal(languageOf({ code: "return 1" }), "javascript");
    assert.equal(languageOf({ type: "codemode", language: "python", code: "1" }), "python");
    assert.equal(languageOf({ type: "codemode", language: "typescript", code: "1" }), "javascript");
  });

  it("colours Python code-mode scripts and marks the failing line", async () => {
    const code = "import json\n# note\nr = tools.echo(text='x')\nr['missing']\n";
    const lines = tokenizeLines(code, "python");
    assert.deepEqual(lines[0]![0], { type: "kw", text: "import" });
    assert.deepEqual(lines[1]![0], { type: "com", text: "# note" });
    assert.ok(lines[2]!.some((t) => t.type === "str" && t.text === "'x'"));
    const out = String(
      await codeBlock(code, "python", { line: 4, column: 1, note: "runtime_error: KeyError" }),
    );
    assert.match(out, /class="line failing" data-line="4" id="failing-line"/);
    assert.match(out, /line 4:1: runtime_error: KeyError/);
  });
});
