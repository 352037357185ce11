import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { unsafePattern } from "./safe-pattern.ts";
import { validateAgainstSchema } from "./validate.ts";

describe("unsafePattern", () => {
  it("accepts the patterns tools commonly use", () => {
    for (const p of [
      "^[a-z]+$",
      "^\\d{4}-\\d{2}-\\d{2}$",
      "^(https?)://",
      "^[A-Z]{2,3}(-[0-9]+)?$",
      "(ab)+",
    ]) {
      assert.equal(unsafePattern(p), null, p);
    }
  });

  it("refuses nested repetition, overlapping alternation under repetition and backreferences", () => {
    for (const p of ["^(a+)+$", "(a*)*", "(a|aa)*", "^(\\w+\\s?)*$", "(.*a){2,}", "(a)\\1"]) {
      assert.notEqual(unsafePattern(p), null, p);
    }
  });

  it("refuses invalid and overlong patterns", () => {
    assert.match(unsafePattern("(")!, /not a valid/);
    assert.match(unsafePattern("a".repeat(300))!, /at most/);
  });

  it("does not enforce an unsafe pattern, so a crafted string cannot stall validation", () => {
    const t0 = Date.now();
    assert.deepEqual(validateAgainstSchema({ type: "string", pattern: "^(a+)+$" }, `${"a".repeat(40)}!`), []);
    assert.ok(Date.now() - t0 < 5_000);
  });
});
