// The hosted agent loop end to end: the real service, the real Docker engine and a scripted model over HTTP.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startFakeLlm, type FakeLlm, type Script } from "../support/fake-llm.ts";
import {
  askHuman,
  callTool,
  empty,
  finish,
  malformed,
  runCode,
  runOrchestration,
  together,
  unknownAction,
} from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";

const POLICY = `name: default
tools:
  allow: ["echo", "sleep"]
container:
  images: [python]
remediation:
  out_of_memory: { retries: 1, memoryMultiplier: 2 }
budgets: { iterations: 40, consecutiveFailures: 2, wallMs: 600000, tokens: 10000000, onExhausted: ask_human }
`;

/** One fake model for the whole file: each test's goal picks its script. */
const scripts = new Map<string, Script>();
let llm: FakeLlm;
let svc: ServiceProcess;

before(async () => {
  llm = await startFakeLlm({
    script: (req, turn, ctx) => {
      for (const [goal, script] of scripts)
        if (ctx.conversation.includes(goal)) return script(req, turn, ctx);
      throw new Error(`no script for ${ctx.conversation}`);
    },
  });
  const policies = mkdtempSync(join(tmpdir(), "mend-loop-policies-"));
  writeFileSync(join(policies, "default.yaml"), POLICY);
  svc = await startService({
    MEND_POLICIES_DIR: policies,
    MEND_LLM_PROVIDER: "openai",
    MEND_LLM_BASE_URL: llm.url,
    MEND_LLM_MODEL: "fake",
  });
});
after(async () => {
  await svc.stop();
  await llm.close();
});

const api = (method: string, path: string, body?: unknown) => call(svc.url, method, path, body);

async function hostedRun(goal: string, script: Script): Promise<string> {
  scripts.set(goal, script);
  const r = await api("POST", "/v1/runs", { mode: "hosted", goal });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

async function until(id: string, statuses: string[]): Promise<any> {
  for (;;) {
    const r = await api("GET", `/v1/runs/${id}`);
    if (statuses.includes(r.body.status)) return r.body;
    await new Promise((res) => setTimeout(res, 50));
  }
}

const lastResult = (ctx: { lastToolResult?: { content: string } }) =>
  JSON.parse(ctx.lastToolResult?.content ?? "{}");

describe("hosted runs", () => {
  it("heal an out-of-memory container by policy (64 → 128 MiB) and finish", async () => {
    const code = "x = bytearray(80 * 1024 * 1024)\nprint('allocated', len(x) // (1024 * 1024), 'MiB')";
    const id = await hostedRun("oom-heal", (_req, turn, ctx) =>
      turn === 0 ? runCode("python", code, { memoryMb: 64 }) : finish(lastResult(ctx).stdout ?? "no output"),
    );
    const run = await until(id, ["succeeded", "failed", "waiting_for_input"]);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.match(String(run.output), /allocated 80 MiB/);
    const steps = (await api("GET", `/v1/runs/${id}/steps`)).body as any[];
    const failed = steps.find((s) => s.key === "iter-1/call-0");
    const retry = steps.find((s) => s.key === "iter-1/call-0/retry-1");
    assert.equal(failed.status, "failed");
    assert.equal(failed.failure.kind, "out_of_memory");
    assert.equal(retry.status, "succeeded");
    assert.equal(retry.remediation.afterSeq, failed.seq);
    assert.equal(retry.remediation.memoryMb, 128);
    const modelSaw = llm.seen("oom-heal").at(-1)!.body!.messages.at(-1)!.content as string;
    assert.match(modelSaw, /healedAfter/);
  });

  it("write Python orchestration that fails, read the structured failure, fix it and finish", async () => {
    const results: any[] = [];
    const id = await hostedRun("python-fix", (req, turn, ctx) => {
      if (turn === 0) {
        // The policy allows Python: the action says so and the prompt carries the stubs.
        const orchestration = req.tools!.find((t) => t.function.name === "run_orchestration")!;
        assert.deepEqual((orchestration.function.parameters as any).properties.language.enum, [
          "javascript",
          "python",
        ]);
        assert.match(
          String(req.messages[0]!.content),
          /```python\n[\s\S]*def echo\(self, \*, text: str = \.\.\./,
        );
        return runOrchestration(
          "words = ['a', 'b']\nr = tools.echo(text=' '.join(words))\nr['txt'].upper()",
          "python",
        );
      }
      results.push(lastResult(ctx));
      if (turn === 1) {
        return runOrchestration(
          "words = ['a', 'b']\nr = tools.echo(text=' '.join(words))\nr['text'].upper()",
          "python",
        );
      }
      return finish(String(lastResult(ctx).result));
    });
    const run = await until(id, ["succeeded", "failed", "waiting_for_input"]);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.output, "A B");
    const [broken, fixed] = results;
    assert.equal(broken.status, "failed");
    assert.equal(broken.failure.kind, "runtime_error");
    assert.equal(broken.failure.location.line, 3);
    assert.equal(broken.failure.cause.type, "KeyError");
    assert.equal(fixed.status, "succeeded");
    const steps = (await api("GET", `/v1/runs/${id}/steps`)).body as any[];
    const scripts = steps.filter((s) => s.kind === "codemode");
    assert.deepEqual(
      scripts.map((s) => [s.input.language, s.status]),
      [
        ["python", "failed"],
        ["python", "succeeded"],
      ],
    );
  });

  it("give tool_not_allowed as context, then let the model use an allowed tool", async () => {
    const id = await hostedRun("not-allowed", (_req, turn, ctx) => {
      if (turn === 0) return callTool("secrets.read", { name: "prod" });
      if (turn === 1) {
        const r = lastResult(ctx);
        assert.equal(r.failure.kind, "tool_not_allowed");
        assert.ok(r.failure.allowedTools.includes("echo"));
        return callTool("echo", { text: "fallback" });
      }
      return finish(JSON.stringify(lastResult(ctx).result));
    });
    const run = await until(id, ["succeeded", "failed", "waiting_for_input"]);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.output, '{"text":"fallback"}');
  });

  it("pause in waiting_for_input when the failure budget is spent, and resume with the human's answer", async () => {
    const id = await hostedRun("budget-human", (_req, _turn, ctx) => {
      if (ctx.lastUserMessage?.includes("A human answered")) return finish("thanks, human");
      return runOrchestration("throw new Error('still broken')");
    });
    const waiting = await until(id, ["waiting_for_input", "succeeded", "failed"]);
    assert.equal(waiting.status, "waiting_for_input");
    assert.equal(waiting.waitingFor.kind, "budget_exhausted");
    assert.match(waiting.waitingFor.question, /consecutiveFailures/);
    assert.equal(waiting.waitingFor.recentFailures[0].kind, "runtime_error");
    const answered = await api("POST", `/v1/runs/${id}/input`, { input: "use the backup data" });
    assert.equal(answered.status, 200);
    const run = await until(id, ["succeeded", "failed"]);
    assert.equal(run.status, "succeeded");
    assert.equal(run.output, "thanks, human");
    assert.equal((await api("POST", `/v1/runs/${id}/input`, { input: "again" })).status, 409);
  });

  it("turn malformed tool-call JSON, an unknown action and an empty answer into structured context", async () => {
    const seen: string[] = [];
    // A successful echo between the bad turns keeps the consecutive-failure budget (2) from running out.
    const id = await hostedRun("bad-model", (_req, turn, ctx) => {
      if (turn > 0) seen.push(ctx.lastToolResult?.content ?? ctx.lastUserMessage ?? "");
      if (turn === 0) return malformed("run_code");
      if (turn === 2) return unknownAction("launch_rockets");
      if (turn === 4) return empty();
      if (turn === 6) return finish("recovered");
      return callTool("echo", { text: `ok ${turn}` });
    });
    const run = await until(id, ["succeeded", "failed", "waiting_for_input"]);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.match(seen[0]!, /malformed_arguments/);
    assert.match(seen[2]!, /tool_not_allowed/);
    assert.match(seen[4]!, /empty_answer/);
  });

  it("show run_code under a policy without containers as policy_violation, and let the run go on", async () => {
    const policies = mkdtempSync(join(tmpdir(), "mend-loop-nocontainers-"));
    writeFileSync(
      join(policies, "default.yaml"),
      'name: default\ntools:\n  allow: ["echo"]\ncontainer:\n  enabled: false\n',
    );
    const strict = await startService({
      MEND_POLICIES_DIR: policies,
      MEND_LLM_PROVIDER: "openai",
      MEND_LLM_BASE_URL: llm.url,
      MEND_LLM_MODEL: "fake",
    });
    try {
      let offered: string[] = [];
      scripts.set("no-containers", (req, turn, ctx) => {
        if (turn === 0) {
          offered = (req.tools ?? []).map((t) => t.function.name);
          return runCode("python", "print(1)");
        }
        if (turn === 1) {
          const r = lastResult(ctx);
          assert.equal(r.failure.kind, "policy_violation");
          assert.equal(r.failure.rule, "container.enabled");
          return callTool("echo", { text: "without containers" });
        }
        return finish("done without containers");
      });
      const created = await call(strict.url, "POST", "/v1/runs", { mode: "hosted", goal: "no-containers" });
      let run: any;
      do {
        await new Promise((r) => setTimeout(r, 50));
        run = (await call(strict.url, "GET", `/v1/runs/${created.body.id}`)).body;
      } while (run.status === "running");
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.ok(!offered.includes("run_code"), "run_code is not even offered");
    } finally {
      await strict.stop();
    }
  });

  it("answer hostile run_code arguments with a structured error, never a crashed run", async () => {
    const seen: string[] = [];
    const bad = [
      runCode("python", "print(1)", { memoryMb: 3 }),
      {
        toolCalls: [
          {
            name: "run_code",
            arguments: { image: "python", code: "print(1)", files: [{ path: "../x", content: "a" }] },
          },
        ],
      },
      { toolCalls: [{ name: "run_code", arguments: { image: "python", code: "print(1)", files: ["x"] } }] },
    ];
    const id = await hostedRun("hostile-args", (_req, turn, ctx) => {
      if (turn > 0) seen.push(ctx.lastToolResult?.content ?? "");
      if (turn === 6) return finish("survived");
      return turn % 2 === 0 ? bad[turn / 2]! : callTool("echo", { text: "breathe" });
    });
    const run = await until(id, ["succeeded", "failed", "waiting_for_input"]);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.match(seen[0]!, /malformed_arguments/);
    assert.match(seen[2]!, /invalid_request|malformed_arguments/);
    assert.match(seen[4]!, /malformed_arguments/);
  });

  it("apply the `limits` a model asks for, and refuse an unknown field such as `resources` by name", async () => {
    const seen: any[] = [];
    const id = await hostedRun("limits-vocabulary", (_req, turn, ctx) => {
      if (turn > 0) seen.push(lastResult(ctx));
      if (turn === 0)
        return callTool("run_orchestration", { code: "while (true) {}", limits: { timeoutMs: 300 } });
      if (turn === 1) return callTool("echo", { text: "between failures" });
      if (turn === 2)
        return callTool("run_code", { image: "python", code: "print(1)", resources: { memoryMb: 64 } });
      return finish("done");
    });
    const run = await until(id, ["succeeded", "failed", "waiting_for_input"]);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(seen[0].failure.kind, "timeout", JSON.stringify(seen[0]));
    assert.equal(seen[0].failure.limits.timeoutMs, 300);
    assert.equal(seen[2].error, "malformed_arguments");
    assert.match(seen[2].message, /unknown field "resources".*"limits"/);
    assert.deepEqual(
      seen[2].errors.map((e: { path: string }) => e.path),
      ["/resources"],
    );
    const steps = (await api("GET", `/v1/runs/${id}/steps`)).body as any[];
    assert.equal(steps.find((s) => s.key === "iter-1/call-0").input.limits.timeoutMs, 300);
    assert.equal(
      steps.some((s) => s.key === "iter-3/call-0"),
      false,
      "the refused run_code did not run",
    );
  });

  it("finish the run when the model asks a human and finishes in the same turn", async () => {
    const id = await hostedRun("ask-and-finish", () =>
      together(askHuman("Anything else?"), finish("all done")),
    );
    const run = await until(id, ["succeeded", "failed", "waiting_for_input"]);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.output, "all done");
  });

  it("is refused with a problem that says how to configure a provider when none is configured", async () => {
    const bare = await startService();
    try {
      const r = await call(bare.url, "POST", "/v1/runs", { mode: "hosted", goal: "x" });
      assert.equal(r.status, 422);
      assert.match(r.body.detail, /MEND_LLM_PROVIDER/);
    } finally {
      await bare.stop();
    }
  });

  it("stops a cancelled run between steps", async () => {
    const id = await hostedRun("cancel-me", () =>
      runOrchestration("await tools.sleep({ ms: 200 }); return 1;"),
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await api("POST", `/v1/runs/${id}/cancel`)).body.status, "cancelled");
    const before = llm.seen("cancel-me").length;
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(llm.seen("cancel-me").length <= before + 1, "no further turns after cancellation");
    assert.equal((await api("GET", `/v1/runs/${id}`)).body.status, "cancelled");
  });
});
