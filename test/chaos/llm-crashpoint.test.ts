// MEND_CRASHPOINT fires on LLM steps too (they go through the one step lifecycle): a service killed right
// after a model turn is journaled as started re-asks that turn once after restart and finishes the run.
import { it, after } from "node:test";
import assert from "node:assert/strict";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { callTool, finish } from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";

let svc: ServiceProcess | null = null;
let llm: FakeLlm | null = null;
after(async () => {
  await svc?.stop("SIGKILL");
  await llm?.close();
});

async function waitFinished(url: string, id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const run = (await call(url, "GET", `/v1/runs/${id}`)).body as Record<string, unknown>;
    if (run.status !== "running") return run;
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const point of ["after-step-start", "before-step-end", "after-step-end"] as const) {
  it(`kills the service at ${point} of the first model turn, and the run finishes after a restart`, async () => {
    llm = await startFakeLlm({
      script: (_req, turn) => (turn === 0 ? callTool("echo", { text: "hi" }) : finish("done")),
    });
    const env = { MEND_LLM_PROVIDER: "openai", MEND_LLM_BASE_URL: llm.url, MEND_LLM_MODEL: "fake" };
    svc = await startService({ ...env, MEND_CRASHPOINT: `${point}:1` });
    const goal = `llm-crashpoint ${point}`;
    const created = await call(svc.url, "POST", "/v1/runs", { mode: "hosted", goal });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const { signal } = await svc.exited;
    assert.equal(signal, "SIGKILL", "the crash point killed the service on the LLM step");
    // The first step of a hosted run is its first model turn.
    assert.ok(svc.logs.length > 0);

    svc = await startService(env, svc.dataDir);
    const run = await waitFinished(svc.url, id);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.output, "done");
    const steps = (await call(svc.url, "GET", `/v1/runs/${id}/steps`)).body as {
      key: string;
      kind: string;
      attempt: number;
      status: string;
    }[];
    const first = steps.find((s) => s.key === "iter-1/llm")!;
    assert.equal(first.kind, "llm");
    assert.equal(first.status, "succeeded");
    // Killed before its end was durable, the turn is re-executed as attempt 2; killed after, it replays.
    assert.equal(first.attempt, point === "after-step-end" ? 1 : 2);
    assert.equal(
      llm.seen(goal).filter((r) => r.turn === 0).length,
      point === "before-step-end" ? 2 : 1,
      "the model was asked the first turn again only when its answer was not journaled",
    );
    await svc.stop();
    await llm.close();
    svc = null;
    llm = null;
  });
}
