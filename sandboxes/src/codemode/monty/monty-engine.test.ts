// Runs the Python conformance suite against the Monty engine, plus checks of its process pool.
import * as t from "node:test";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pythonRequest, runPythonConformanceSuite } from "../../testing/index.ts";
import { MontyEngine } from "./monty-engine.ts";

runPythonConformanceSuite(t, "monty", () => new MontyEngine({ workers: 2 }));

describe("MontyEngine", () => {
  it("refuses JavaScript as a policy_violation value, without starting a child", async () => {
    const engine = new MontyEngine({ workers: 1 });
    try {
      const outcome = await engine.execute(pythonRequest("return 1", { language: "javascript" }));
      assert.equal(outcome.status === "failed" && outcome.failure.kind, "policy_violation");
      assert.equal(engine.stats().children, 0);
    } finally {
      await engine.dispose();
    }
  });

  it("holds a paused script without occupying its child: others run while it waits for a tool", async () => {
    const engine = new MontyEngine({ workers: 1 });
    try {
      let release: (value: unknown) => void = () => {};
      const gate = new Promise((resolve) => (release = resolve));
      const invokeTool = async () => ({ ok: true as const, value: await gate });
      const slow = engine.execute(pythonRequest("tools.echo(text='wait')", { invokeTool }));
      // The only child is free while `slow` waits for its tool: these finish meanwhile.
      const quick = await Promise.all([1, 2, 3].map((n) => engine.execute(pythonRequest(`${n} * 2`))));
      assert.deepEqual(
        quick.map((o) => o.status === "succeeded" && o.result),
        [2, 4, 6],
      );
      assert.equal(engine.stats().held, 1, "the waiting script is held by the child, paused");
      release("released");
      const done = await slow;
      assert.equal(done.status === "succeeded" && done.result, "released");
      assert.equal(engine.stats().held, 0);
    } finally {
      await engine.dispose();
    }
  });
});
