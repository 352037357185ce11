// A code-mode step interrupted by a crash resumes: journaled tool calls are replayed, the rest run live.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { startService } from "../support/service-process.ts";
import { call } from "../support/http-json.ts";

describe("resuming a code-mode step after kill -9", () => {
  it("replays the tool calls journaled before the crash and continues live from the first unrecorded one", async () => {
    const crashing = await startService({ MEND_CRASHPOINT: "after-tool-call:2" });
    const { body: run } = await call(crashing.url, "POST", "/v1/runs", { mode: "client" });
    const action = {
      type: "codemode",
      code: "const a = await tools.sleep({ ms: 1 }); const b = await tools.sleep({ ms: 2 }); const c = await tools.sleep({ ms: 3 }); return [a, b, c].length;",
    };
    const lost = await call(crashing.url, "POST", `/v1/runs/${run.id}/steps`, {
      key: "three-calls",
      action,
    }).catch((e: Error) => e);
    assert.ok(lost instanceof Error, "the request dies with the process");
    const { signal } = await crashing.exited;
    assert.equal(signal, "SIGKILL");

    const restarted = await startService({}, crashing.dataDir);
    try {
      const r = await call(restarted.url, "POST", `/v1/runs/${run.id}/steps`, { key: "three-calls", action });
      assert.equal(r.status, 200);
      assert.equal(r.body.status, "succeeded");
      assert.equal(r.body.result, 3);
      assert.equal(r.body.attempts, 2, "the step was re-executed as attempt 2");
      assert.deepEqual(
        r.body.toolCalls.map((c: { replayed: boolean }) => c.replayed),
        [true, true, false],
      );
      const again = await call(restarted.url, "POST", `/v1/runs/${run.id}/steps`, {
        key: "three-calls",
        action,
      });
      assert.equal(again.body.replayed, true);
    } finally {
      await restarted.stop();
    }
  });
});
