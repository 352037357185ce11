import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compilePattern, patternProblem } from "./linear-pattern.ts";
import { validateAgainstSchema } from "./validate.ts";

// A backtracking engine needs longer than the age of the universe for these; RE2 needs microseconds.
// The test's own timeout is the only clock here: it is generous, the gap is astronomical.
const CATASTROPHIC = { timeout: 30_000 };

describe("JSON Schema pattern in linear time (re2js)", () => {
  it("accepts the patterns tools commonly use, and ones the old heuristic refused", () => {
    for (const p of [
      "^[a-z]+$",
      "^\\d{4}-\\d{2}-\\d{2}$",
      "^(https?)://",
      "^[A-Z]{2,3}(-[0-9]+)?$",
      "(ab)+",
      "^(a+)+$",
      "(a|aa)*",
      "^\\p{L}+$",
      "^(?<year>\\d{4})$",
    ]) {
      assert.equal(patternProblem(p), null, p);
    }
  });

  it("refuses what RE2 cannot run in linear time, and invalid or overlong patterns, saying why", () => {
    for (const p of ["(a)\\1", "(?=a)b", "(?<!a)b", "(?<n>a)\\k<n>"])
      assert.match(patternProblem(p)!, /not a linear-time/, p);
    assert.match(patternProblem("(")!, /missing closing/);
    assert.match(patternProblem(7)!, /must be a string/);
    assert.match(patternProblem("a".repeat(2000))!, /at most 1024/);
  });

  it("matches ^a*a*a*$ against 2,000 a's and a '!' at once: no match", CATASTROPHIC, () => {
    const errors = validateAgainstSchema(
      { type: "object", properties: { q: { type: "string", pattern: "^a*a*a*$" } } },
      { q: `${"a".repeat(2000)}!` },
    );
    assert.deepEqual(errors, [{ path: "/q", message: "Expected string to match '^a*a*a*$'" }]);
  });

  it("matches ^(a+){25}$ and ^(a+)+$ against crafted strings at once", CATASTROPHIC, () => {
    assert.equal(
      validateAgainstSchema({ type: "string", pattern: "^(a+){25}$" }, `${"a".repeat(40)}!`).length,
      1,
    );
    assert.equal(
      validateAgainstSchema({ type: "string", pattern: "^(a+)+$" }, `${"a".repeat(100_000)}!`).length,
      1,
    );
    assert.deepEqual(validateAgainstSchema({ type: "string", pattern: "^(a+){25}$" }, "a".repeat(40)), []);
  });

  it("keeps JSON Schema semantics: unanchored search, length bounds beside the pattern, non-strings fail", () => {
    const schema = { type: "string", pattern: "b+", minLength: 2, maxLength: 5 };
    assert.deepEqual(validateAgainstSchema(schema, "abba"), []);
    assert.match(validateAgainstSchema(schema, "b")[0]!.message, /length greater or equal to 2/);
    assert.match(validateAgainstSchema(schema, "abbbbbb")[0]!.message, /length less or equal to 5/);
    assert.match(validateAgainstSchema(schema, "aaaa")[0]!.message, /match 'b\+'/);
    assert.match(validateAgainstSchema(schema, 3)[0]!.message, /Expected string/);
    assert.deepEqual(
      validateAgainstSchema({ anyOf: [{ type: "string", pattern: "^x" }, { type: "number" }] }, 3),
      [],
    );
  });

  it("fails every value of a schema whose pattern RE2 cannot compile, never the host", () => {
    const errors = validateAgainstSchema({ type: "string", pattern: "(a)\\1" }, "aa");
    assert.match(errors[0]!.message, /cannot be used: pattern: not a linear-time/);
    assert.equal(typeof compilePattern("(a)\\1"), "string");
  });
});
