// The lazily loaded container runner: nothing is loaded after dispose().
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_CONTAINER_LIMITS } from "@mend/sandboxes/docker";
import { LazyContainerRunner } from "./lazy-container-runner.ts";

void test("a job after dispose() is refused without loading the runner", async () => {
  let loads = 0;
  const lazy = new LazyContainerRunner(() => {
    loads++;
    return Promise.reject(new Error("the runner must not be loaded"));
  });
  await lazy.dispose();
  await assert.rejects(
    lazy.run({ image: "python", code: "print(1)", limits: DEFAULT_CONTAINER_LIMITS }),
    /after dispose/,
  );
  assert.equal(loads, 0);
  assert.deepEqual(lazy.engines(), []);
});
