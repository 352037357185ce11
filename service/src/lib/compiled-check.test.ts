import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Type } from "@sinclair/typebox";
import { compiledCheck } from "./compiled-check.ts";

describe("compiledCheck", () => {
  it("compiles a schema once and checks with it", () => {
    const a = Type.Object({ n: Type.Integer() });
    const b = Type.Object({ s: Type.String() });
    assert.equal(compiledCheck(a), compiledCheck(a));
    assert.notEqual(compiledCheck(a), compiledCheck(b));
    assert.equal(compiledCheck(a).Check({ n: 1 }), true);
    assert.equal(compiledCheck(a).Check({ n: "1" }), false);
    assert.equal(compiledCheck(b).Errors({}).First()?.path, "/s");
  });
});
