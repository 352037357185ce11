// kill -9 in the middle of a 20-step hosted run: after restart the run completes, the model saw each turn
// exactly once and each tool side effect happened once.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { callTool, finish } from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";

const STEPS = 20;
let svc: ServiceProcess | null = null;
let llm: FakeLlm | null = null;
let server: Server | null = null;
after(async () => {
  await svc?.stop("SIGKILL");
  await llm?.close();
  server?.close();
});

describe("a hosted run killed with SIGKILL mid-way", () => {
  it("completes after restart with every model turn and every side effect exactly once", async () => {
    const effects = new Map<string, number>();
    server = createServer((req, res) => {
      const key = String(req.headers["idempotency-key"]);
      effects.set(key, (effects.get(key) ?? 0) + 1);
      req.resume();
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ recorded: key }));
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}/effect`;
    llm = await startFakeLlm({
      latencyMs: 10,
      script: (_req, turn) =>
        turn < STEPS ? callTool("effect", { n: turn }) : finish(`did ${STEPS} things`),
    });
    const policies = mkdtempSync(join(tmpdir(), "mend-kill-policies-"));
    writeFileSync(join(policies, "default.yaml"), 'name: default\ntools:\n  allow: ["effect"]\n');
    const env = {
      MEND_POLICIES_DIR: policies,
      MEND_LLM_PROVIDER: "openai",
      MEND_LLM_BASE_URL: llm.url,
      MEND_LLM_MODEL: "fake",
    };

    svc = await startService({ ...env, MEND_CRASHPOINT: "after-step-end:17" });
    const reg = await call(svc.url, "POST", "/v1/tools", {
      name: "effect",
      description: "records one side effect",
      inputSchema: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] },
      endpoint,
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const created = await call(svc.url, "POST", "/v1/runs", {
      mode: "hosted",
      goal: "hosted-kill: twenty effects",
    });
    const id = created.body.id as string;
    const { signal } = await Promise.race([
      svc.exited,
      new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error("no crash: " + svc!.logs.slice(-5).join("\n"))), 20000),
      ),
    ]);
    assert.equal(signal, "SIGKILL", "the crash point killed the service mid-run");
    const before = llm.seen("hosted-kill").length;
    assert.ok(before > 0 && before < STEPS, `crashed part-way (after ${before} turns)`);

    svc = await startService(env, svc.dataDir);
    let run: any;
    for (;;) {
      run = (await call(svc.url, "GET", `/v1/runs/${id}`)).body;
      if (run.status !== "running") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.output, `did ${STEPS} things`);
    assert.deepEqual(llm.repeatedTurns("hosted-kill"), [], "the model saw each turn exactly once");
    assert.equal(llm.seen("hosted-kill").filter((r) => r.status === 200).length, STEPS + 1);
    const mine = [...effects].filter(([k]) => k.startsWith(`${id}/`));
    assert.equal(mine.length, STEPS, "one side effect per step");
    for (const [k, n] of mine) assert.equal(n, 1, `${k} happened once`);
  });
});
