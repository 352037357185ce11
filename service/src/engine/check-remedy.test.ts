import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeFailure } from "@mend/wire";
import { BASE_POLICY } from "../policy/builtin-policy.ts";
import { checkRemedy } from "./check-remedy.ts";

const policy = { ...BASE_POLICY, name: "t", version: "1" };
const missing = (module: string) =>
  makeFailure("missing_dependency", `no ${module}`, false, {
    module,
    remedy: { action: "avoid_dependency", hint: "choose an image that has it" },
  });

describe("checkRemedy", () => {
  it("names the allowed images that have a missing module", () => {
    const r = checkRemedy(policy, missing("pandas"), "container").remedy!;
    assert.equal(r.action, "use_image");
    assert.deepEqual(r.images, ["python"]);
  });

  it("says to do without a module no allowed image has, and never names a refused image", () => {
    assert.equal(checkRemedy(policy, missing("torch"), "container").remedy!.action, "avoid_dependency");
    const narrow = { ...policy, container: { ...policy.container, images: ["node"] } };
    const r = checkRemedy(narrow, missing("pandas.io"), "container").remedy!;
    assert.equal(r.action, "avoid_dependency");
    assert.equal(r.images, undefined);
  });

  it("caps a suggested resource at the policy's ceiling", () => {
    const oom = makeFailure("out_of_memory", "oom", true, {
      limits: { memoryMb: 1024 },
      remedy: { action: "increase_memory", memoryMb: 99_999 },
    });
    const r = checkRemedy(policy, oom, "container").remedy!;
    assert.equal(r.memoryMb, policy.container.max.memoryMb);
    assert.equal(r.withinPolicy, true);
  });
});
