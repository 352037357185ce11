// Shutdown keeps its promise: no new work on any connection once SIGTERM arrives, work cut by the grace
// deadline is re-executed (never replayed as a failure, never shown to a model), and a step that keeps
// dying with the service is given up after the policy's attempt cap.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { callTool, finish } from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";

const REPO_DEFAULT = new URL("../../policies/default.yaml", import.meta.url).pathname;
const live: ServiceProcess[] = [];
let llm: FakeLlm | null = null;
after(async () => {
  await Promise.all(live.map((s) => s.stop("SIGKILL")));
  await llm?.close();
});

async function service(env: Record<string, string> = {}, dataDir?: string): Promise<ServiceProcess> {
  const s = await startService(env, dataDir);
  live.push(s);
  return s;
}

/** Resolves once the service has journaled `n` steps as started (read from its SQLite file). */
async function startedSteps(dataDir: string, n: number): Promise<void> {
  for (;;) {
    try {
      const db = new DatabaseSync(join(dataDir, "mend.db"), { readOnly: true });
      const row = db.prepare("SELECT COUNT(*) AS c FROM steps WHERE status = 'started'").get() as {
        c: number;
      };
      db.close();
      if (row.c >= n) return;
    } catch {
      /* not created yet */
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function logged(s: ServiceProcess, msg: string): Promise<void> {
  while (!s.logs.some((l) => l.includes(`"msg":"${msg}"`))) await new Promise((r) => setTimeout(r, 10));
}

const sleepStep = (key: string, ms: number) => ({
  key,
  action: {
    type: "codemode",
    code: `await tools.sleep({ ms: ${ms} }); return "${key} done";`,
    limits: { timeoutMs: 60000 },
  },
});

describe("SIGTERM", () => {
  it("answers a request that arrives on a kept-alive connection after SIGTERM with 503 and Connection: close", async () => {
    const s = await service({ MEND_SHUTDOWN_GRACE_MS: "10000" });
    const run = (await call(s.url, "POST", "/v1/runs", { mode: "client" })).body.id as string;
    const { port } = new URL(s.url);
    const socket = connect(Number(port), "127.0.0.1");
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString()));
    const closed = new Promise<void>((r) => socket.on("close", () => r()));
    const request = (path: string, body: unknown) => {
      const text = JSON.stringify(body);
      return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: keep-alive\r\n\r\n${text}`;
    };
    // The first request keeps the connection busy while the service begins to drain.
    socket.write(request(`/v1/runs/${run}/steps`, sleepStep("slow", 1500)));
    await startedSteps(s.dataDir, 1);
    s.child.kill("SIGTERM");
    await logged(s, "shutting down");
    socket.write(request("/v1/executions", { sandbox: "codemode", code: "return 1" }));
    await closed;
    const responses = received.split(/(?=HTTP\/1\.1 )/);
    assert.equal(responses.length, 2, received);
    assert.match(responses[0]!, /^HTTP\/1\.1 200/);
    assert.match(responses[0]!, /slow done/);
    assert.match(responses[1]!, /^HTTP\/1\.1 503/);
    assert.match(responses[1]!, /\r\nconnection: close\r\n/i);
    assert.match(responses[1]!, /shutting down/);
    assert.equal((await s.exited).code, 0);
  });

  it("leaves no step permanently failed under load with a short grace: retried keys re-execute after a restart", async () => {
    const s = await service({ MEND_SHUTDOWN_GRACE_MS: "300" });
    const run = (await call(s.url, "POST", "/v1/runs", { mode: "client" })).body.id as string;
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    // Half finish within the grace, half are cut by it.
    const pending = keys.map((k, i) =>
      call(s.url, "POST", `/v1/runs/${run}/steps`, sleepStep(k, i % 2 === 0 ? 50 : 20000)).catch(() => null),
    );
    await startedSteps(s.dataDir, 6);
    s.child.kill("SIGTERM");
    assert.equal((await s.exited).code, 0);
    await Promise.all(pending);

    const again = await service({}, s.dataDir);
    for (const k of keys) {
      // A shorter sleep than the first request's: accepted for the cut steps, replayed for the finished ones.
      const r = await call(again.url, "POST", `/v1/runs/${run}/steps`, {
        ...sleepStep(k, 1),
        onInputMismatch: "replay",
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, "succeeded", `${k}: ${JSON.stringify(r.body.failure)}`);
      assert.equal(r.body.result, `${k} done`);
    }
    const steps = (await call(again.url, "GET", `/v1/runs/${run}/steps`)).body as {
      status: string;
      attempt: number;
    }[];
    assert.equal(steps.length, keys.length);
    assert.ok(steps.every((st) => st.status === "succeeded"));
    assert.ok(
      steps.some((st) => st.attempt === 2),
      "steps cut by the deadline were re-executed as attempt 2",
    );
    await again.stop();
  });

  it("never shows a model the interruption of a hosted run's step, and the run finishes after a restart", async () => {
    const fake = await startFakeLlm({
      script: (_req, turn) =>
        turn === 0
          ? callTool("run_orchestration", { code: "await tools.sleep({ ms: 20000 }); return 'slept'" })
          : finish("finished"),
    });
    llm = fake;
    const env = { MEND_LLM_PROVIDER: "openai", MEND_LLM_BASE_URL: fake.url, MEND_LLM_MODEL: "fake" };
    const s = await service({ ...env, MEND_SHUTDOWN_GRACE_MS: "300" });
    const goal = "shutdown: hosted step cut by the grace deadline";
    const id = (await call(s.url, "POST", "/v1/runs", { mode: "hosted", goal })).body.id as string;
    // The model turn, then the script's step.
    for (;;) {
      const steps = (await call(s.url, "GET", `/v1/runs/${id}/steps`)).body as {
        kind: string;
        status: string;
      }[];
      if (steps.some((st) => st.kind === "codemode" && st.status === "started")) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    s.child.kill("SIGTERM");
    assert.equal((await s.exited).code, 0);

    const again = await service(env, s.dataDir);
    let run: Record<string, unknown>;
    for (;;) {
      run = (await call(again.url, "GET", `/v1/runs/${id}`)).body as Record<string, unknown>;
      if (run.status !== "running") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    const told = fake.seen(goal).map((r) => JSON.stringify(r.body ?? r));
    assert.ok(told.length >= 2);
    assert.ok(
      told.every((t) => !/interrupted/.test(t)),
      "no model request mentions the interruption",
    );
    await again.stop();
  });
});

describe("a step that keeps dying with the service", () => {
  it("is given up after the policy's maxAttempts with attempts_exhausted naming its attempts", async () => {
    const policies = mkdtempSync(join(tmpdir(), "mend-attempts-policies-"));
    writeFileSync(
      join(policies, "default.yaml"),
      readFileSync(REPO_DEFAULT, "utf8").replace(
        /limits: \{ concurrentExecutions: (\d+) \}/,
        "limits: { concurrentExecutions: $1, maxAttempts: 2 }",
      ),
    );
    let dataDir: string | undefined;
    let run: string | undefined;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const s = await service(
        { MEND_POLICIES_DIR: policies, MEND_CRASHPOINT: "after-step-start:1" },
        dataDir,
      );
      dataDir = s.dataDir;
      run ??= (await call(s.url, "POST", "/v1/runs", { mode: "client" })).body.id as string;
      await call(s.url, "POST", `/v1/runs/${run}/steps`, sleepStep("doomed", 1)).catch(() => null);
      assert.equal((await s.exited).signal, "SIGKILL", `attempt ${attempt} died with the service`);
    }
    const s = await service({ MEND_POLICIES_DIR: policies }, dataDir);
    const r = await call(s.url, "POST", `/v1/runs/${run}/steps`, sleepStep("doomed", 1));
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "failed");
    assert.equal(r.body.failure.kind, "attempts_exhausted", JSON.stringify(r.body.failure));
    assert.equal(r.body.failure.attempts, 2);
    assert.match(r.body.failure.message, /started 3 times/);
    assert.equal(r.body.attempts, 3);
    const replay = await call(s.url, "POST", `/v1/runs/${run}/steps`, sleepStep("doomed", 1));
    assert.equal(replay.body.replayed, true, "the verdict is journaled: the step is not tried again");
    await s.stop();
  });
});
