// A Python code-mode step killed by SIGKILL after its 3rd of 5 tool calls resumes from the interpreter's
// snapshot: the script is not re-run and calls 1–3 are not made again (an HTTP tool counts its calls).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { startService } from "../support/service-process.ts";
import { call } from "../support/http-json.ts";
import { startToolHttpServer } from "../support/tool-http-server.ts";
import { openPolicyDir } from "../support/tool-test-kit.ts";

describe("resuming a Python code-mode step after kill -9", () => {
  const hits: number[] = [];
  let closeServer: (() => Promise<void>) | undefined;
  after(async () => closeServer?.());

  it("continues from the snapshot at the last journaled call; calls 1–3 are not made again", async () => {
    const srv = await startToolHttpServer({
      "/hit": ({ body }) => {
        const i = (body as { i: number }).i;
        hits.push(i);
        return { status: 200, json: { i, square: i * i } };
      },
    });
    closeServer = () => srv.close();
    const policies = openPolicyDir();
    const crashing = await startService({
      MEND_CRASHPOINT: "after-tool-call:3",
      MEND_POLICIES_DIR: policies,
    });
    const registered = await call(crashing.url, "POST", "/v1/tools", {
      name: "counter.hit",
      description: "Counts a hit and returns its square.",
      inputSchema: { type: "object", properties: { i: { type: "integer" } }, required: ["i"] },
      endpoint: `${srv.url}/hit`,
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const { body: run } = await call(crashing.url, "POST", "/v1/runs", { mode: "client" });
    const action = {
      type: "codemode",
      language: "python",
      code: [
        "import random",
        "print('started')",
        "salt = random.random()",
        "squares = []",
        "for i in range(1, 6):",
        "    squares.append(tools.counter.hit(i=i)['square'])",
        "    print('after call', i)",
        "[squares, salt]",
      ].join("\n"),
    };
    const lost = await call(crashing.url, "POST", `/v1/runs/${run.id}/steps`, {
      key: "five-calls",
      action,
    }).catch((e: Error) => e);
    assert.ok(lost instanceof Error, "the request dies with the process");
    const { signal } = await crashing.exited;
    assert.equal(signal, "SIGKILL");
    assert.deepEqual(hits, [1, 2, 3], "the service died right after journaling the 3rd call");

    const restarted = await startService({ MEND_POLICIES_DIR: policies }, crashing.dataDir);
    try {
      const r = await call(restarted.url, "POST", `/v1/runs/${run.id}/steps`, { key: "five-calls", action });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, "succeeded", JSON.stringify(r.body.failure));
      const [squares] = r.body.result as [number[], number];
      assert.deepEqual(squares, [1, 4, 9, 16, 25]);
      assert.equal(r.body.attempts, 2, "the step was re-executed as attempt 2");
      assert.deepEqual(r.body.resumedFromSnapshot, { seq: 3 }, "from the snapshot taken at call 3");
      assert.deepEqual(hits, [1, 2, 3, 4, 5], "calls 1–3 were not made again; 4 and 5 were made once");
      assert.deepEqual(
        r.body.toolCalls.map((c: { seq: number; replayed: boolean }) => [c.seq, c.replayed]),
        [
          [1, true],
          [2, true],
          [3, true],
          [4, false],
          [5, false],
        ],
      );
      // The logs printed before the crash come from the snapshot: the script did not print them again.
      assert.deepEqual(r.body.logs, [
        "started",
        "after call 1",
        "after call 2",
        "after call 3",
        "after call 4",
        "after call 5",
      ]);
      const again = await call(restarted.url, "POST", `/v1/runs/${run.id}/steps`, {
        key: "five-calls",
        action,
      });
      assert.equal(again.body.replayed, true);
      assert.deepEqual(again.body.result, r.body.result);
      assert.equal(hits.length, 5);
    } finally {
      await restarted.stop();
    }
  });
});
