import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { LlmMessage, LlmRequest, LlmResponse } from "../../service/src/llm/llm-provider.ts";
import { OpenAiProvider } from "../../service/src/llm/openai-provider.ts";
import { DEMO_LLM_PORT, startFakeLlm, type FakeLlm, type Script } from "../support/fake-llm.ts";
import {
  askHuman,
  callTool,
  empty,
  finish,
  malformed,
  runCode,
  runOrchestration,
  unknownAction,
} from "../support/fake-llm-turns.ts";

const ACTIONS = ["kv.get", "run_orchestration", "run_code", "ask_human", "finish"];
const FAKE_LLM = new URL("../support/fake-llm.ts", import.meta.url).pathname;

function request(goal: string, messages: LlmMessage[] = []): LlmRequest {
  return {
    model: "fake",
    system: "test",
    messages: [{ role: "user", content: `Goal: ${goal}` }, ...messages],
    tools: ACTIONS.map((name) => ({ name, description: name, inputSchema: { type: "object" } })),
  };
}

/** Plays a conversation until `finish`, answering each tool call with `result(name, args)`. */
async function converse(
  provider: OpenAiProvider,
  goal: string,
  result: (name: string, args: string) => string,
): Promise<{ answer: string; history: LlmMessage[] }> {
  const history: LlmMessage[] = [];
  for (let turn = 0; turn < 20; turn++) {
    const out = await provider.complete(request(goal, history));
    if (!out.ok) throw new Error(out.failure.message);
    const { content, toolCalls } = out.response;
    history.push({ role: "assistant", content, toolCalls });
    const done = toolCalls.find((c) => c.name === "finish");
    if (done) return { answer: (JSON.parse(done.argumentsJson) as { answer: string }).answer, history };
    for (const c of toolCalls) {
      history.push({
        role: "tool",
        toolCallId: c.id,
        name: c.name,
        content: result(c.name, c.argumentsJson),
      });
    }
  }
  throw new Error("no finish within 20 turns");
}

describe("the fake LLM", () => {
  const scripts = new Map<string, Script>();
  let llm: FakeLlm;
  let provider: OpenAiProvider;
  before(async () => {
    llm = await startFakeLlm({
      script: (req, turn, ctx) => {
        const script = [...scripts].find(([goal]) => ctx.conversation.includes(goal))?.[1];
        if (!script) throw new Error(`no script for ${ctx.conversation}`);
        return script(req, turn, ctx);
      },
    });
    provider = new OpenAiProvider({ baseUrl: llm.url, maxAttempts: 1 });
  });
  after(() => llm.close());

  it("tells concurrent conversations apart by their goal and counts each turn once", async () => {
    scripts.set("count to", (_req, turn, ctx) => {
      const n = Number(/count to (\d+)/.exec(ctx.conversation)![1]);
      return turn < n
        ? callTool("kv.get", { key: `k${turn}` })
        : finish(`counted to ${n} in ${ctx.conversation}`);
    });
    const goals = Array.from({ length: 40 }, (_, i) => `count to ${(i % 4) + 1} (#${i})`);
    const results = await Promise.all(
      goals.map((g) => converse(provider, g, (_n, args) => `value of ${args}`)),
    );
    for (const [i, r] of results.entries())
      assert.equal(r.answer, `counted to ${(i % 4) + 1} in Goal: ${goals[i]}`);
    const counts = llm.countByConversation();
    for (const [i, g] of goals.entries()) assert.equal(counts.get(`Goal: ${g}`), (i % 4) + 2);
    assert.equal(llm.seen("count to 3 (#2)").length, 4);
    assert.deepEqual(llm.repeatedTurns("count to"), []);
  });

  it("lets a script react to the last tool result", async () => {
    scripts.set("heal", (_req, turn, ctx) => {
      if (turn === 0) return runCode("python", "x = ' ' * 10**8", { memoryMb: 64 });
      if (ctx.lastToolResult?.content.includes("out_of_memory")) {
        assert.equal(ctx.lastToolResult.name, "run_code");
        return runCode("python", "x = ' ' * 10**8", { memoryMb: 256 });
      }
      return finish(`ran with ${ctx.lastToolResult?.content}`);
    });
    const asked: number[] = [];
    const { answer } = await converse(provider, "heal", (_name, args) => {
      const memoryMb = (JSON.parse(args) as { limits: { memoryMb: number } }).limits.memoryMb;
      asked.push(memoryMb);
      return memoryMb < 128 ? '{"kind":"out_of_memory"}' : '{"ok":true}';
    });
    assert.deepEqual(asked, [64, 256]);
    assert.equal(answer, 'ran with {"ok":true}');
  });

  it("counts re-asked turns as attempts and reports them as repeated", async () => {
    const attempts: number[] = [];
    scripts.set("re-asked", (_req, _turn, ctx) => {
      attempts.push(ctx.attempt);
      return finish("same");
    });
    await provider.complete(request("re-asked"));
    await provider.complete(request("re-asked"));
    assert.deepEqual(attempts, [0, 1]);
    assert.deepEqual(llm.repeatedTurns("re-asked"), [
      { conversation: "Goal: re-asked", messageCount: 2, count: 2 },
    ]);
  });

  it("builds the awkward turns the loop must survive", async () => {
    const turns = [
      malformed(),
      unknownAction(),
      empty(),
      askHuman("Which region?"),
      runOrchestration("return 1"),
    ];
    scripts.set("awkward", (_req, _turn, ctx) => turns[ctx.attempt]!);
    const answers: LlmResponse[] = [];
    for (let i = 0; i < turns.length; i++) {
      const out = await provider.complete(request("awkward"));
      assert.ok(out.ok);
      answers.push(out.response);
    }
    assert.equal(answers[0]!.toolCalls[0]!.name, "run_code");
    assert.throws(() => JSON.parse(answers[0]!.toolCalls[0]!.argumentsJson) as unknown);
    assert.equal(answers[1]!.toolCalls[0]!.name, "launch_rockets");
    assert.deepEqual(
      [answers[2]!.content, answers[2]!.toolCalls, answers[2]!.finishReason],
      ["", [], "stop"],
    );
    assert.deepEqual(answers[3]!.toolCalls[0]!.argumentsJson, '{"question":"Which region?"}');
    assert.deepEqual(answers[4]!.toolCalls[0]!.argumentsJson, '{"code":"return 1"}');
  });

  it("rejects, as OpenAI does, a tool result answering no call, a null assistant content, dotted tool names", async () => {
    const out = await provider.complete(
      request("protocol", [{ role: "tool", toolCallId: "nope", name: "kv.get", content: "1" }]),
    );
    assert.ok(!out.ok);
    assert.equal(out.failure.status, 400);
    assert.match(out.failure.message, /must answer a tool_call_id/);

    const silent = await fetch(`${llm.url}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "m",
        messages: [
          { role: "user", content: "Goal: protocol" },
          { role: "assistant", content: null },
          { role: "user", content: "well?" },
        ],
      }),
    });
    assert.equal(silent.status, 400);
    assert.match(await silent.text(), /needs a string content/);

    const res = await fetch(`${llm.url}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "Goal: protocol" }],
        tools: [{ type: "function", function: { name: "kv.get" } }],
      }),
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /does not match/);
    assert.equal(llm.seen("protocol").length, 0, "invalid requests reach no script");
  });

  it("answers past the end of a turn list with a 400 naming the missing turn", async () => {
    const short = await startFakeLlm({ turns: [callTool("kv.get", { key: "a" })] });
    try {
      const p = new OpenAiProvider({ baseUrl: short.url, maxAttempts: 1 });
      const first = await p.complete(request("short"));
      assert.ok(first.ok);
      const call = first.response.toolCalls[0]!;
      assert.equal(call.name, "kv.get");
      const second = await p.complete(
        request("short", [
          { role: "assistant", content: null, toolCalls: [call] },
          { role: "tool", toolCallId: call.id, name: call.name, content: "1" },
        ]),
      );
      assert.ok(!second.ok);
      assert.match(second.failure.message, /script has 1 turns; turn 1 was asked for/);
      assert.equal(short.errors.length, 1);
    } finally {
      await short.close();
    }
  });
});

describe("the fake LLM as a standalone process", () => {
  it("serves the demo script: OOM-prone Python first, then the printed result", async () => {
    const child = spawn(process.execPath, [FAKE_LLM, "--port", "0", "--demo"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).on("line", (line) => {
          const m = /listening on (\S+)/.exec(line);
          if (m) resolve(m[1]!);
        });
        child.once("exit", (code) => reject(new Error(`fake LLM exited with ${code}`)));
      });
      const p = new OpenAiProvider({ baseUrl: url, maxAttempts: 1 });
      const first = await p.complete(request("demo"));
      assert.ok(first.ok);
      const call = first.response.toolCalls[0]!;
      const args = JSON.parse(call.argumentsJson) as {
        image: string;
        code: string;
        limits: { memoryMb: number };
      };
      assert.equal(call.name, "run_code");
      assert.equal(args.image, "python");
      assert.equal(args.limits.memoryMb, 64);
      const after = (content: string): LlmRequest =>
        request("demo", [
          { role: "assistant", content: null, toolCalls: [call] },
          { role: "tool", toolCallId: call.id, name: call.name, content },
        ]);
      const healed = await p.complete(
        after(JSON.stringify({ status: "succeeded", stdout: "allocated 80 MiB in one piece\n" })),
      );
      assert.ok(healed.ok);
      assert.equal(healed.response.toolCalls[0]!.name, "finish");
      assert.match(healed.response.toolCalls[0]!.argumentsJson, /printed: allocated 80 MiB in one piece/);
      const oom = await p.complete(after('{"kind":"out_of_memory","message":"killed at 64 MiB"}'));
      assert.ok(oom.ok);
      assert.match(oom.response.toolCalls[0]!.argumentsJson, /"memoryMb":256/);
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("listens by default on a port of its own, not Ollama's 11434", async () => {
    assert.notEqual(DEMO_LLM_PORT, 11434);
    const child = spawn(process.execPath, [FAKE_LLM, "--demo"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).on("line", (line) => {
          const m = /listening on (\S+)/.exec(line);
          if (m) resolve(m[1]!);
        });
        child.once("exit", (code) => reject(new Error(`fake LLM exited with ${code}`)));
      });
      assert.equal(new URL(url).port, String(DEMO_LLM_PORT));
      const models = await fetch(`${url}/models`);
      assert.equal(models.status, 200);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
