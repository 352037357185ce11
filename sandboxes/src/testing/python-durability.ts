// The durability part of the Python conformance suite: journaled tool calls, and resuming from snapshots.
import assert from "node:assert/strict";
import { makeFailure } from "@mend/wire";
import type { TestApi } from "./test-api.ts";
import { MemoryJournal, pythonRequest, testInvoker } from "./codemode-fixtures.ts";
import type {
  CodeModeEngine,
  CodeModeOutcome,
  CodeModeRequest,
  InterpreterSnapshot,
  ToolCallRecord,
} from "../codemode/engine.ts";

function ok(outcome: CodeModeOutcome): unknown {
  assert.equal(
    outcome.status,
    "succeeded",
    JSON.stringify(outcome.status === "failed" ? outcome.failure : null),
  );
  return (outcome as { result: unknown }).result;
}

/** A MemoryJournal that also remembers the order of what it was asked to persist. */
class OrderedJournal extends MemoryJournal {
  readonly events: string[] = [];
  override async saveSnapshot(snapshot: InterpreterSnapshot): Promise<void> {
    this.events.push(`snapshot ${snapshot.seq}`);
    await super.saveSnapshot(snapshot);
  }
  override async record(call: ToolCallRecord): Promise<void> {
    this.events.push(`record ${call.seq}`);
    await super.record(call);
  }
}

/**
 * Registers the journal and snapshot tests of a Python engine (inside the conformance suite's describe).
 * @example runPythonDurabilitySuite(t, () => engine)
 */
export function runPythonDurabilitySuite(t: TestApi, engineOf: () => CodeModeEngine): void {
  const { describe, it } = t;
  const run = (code: string, overrides: Partial<CodeModeRequest> = {}) =>
    engineOf().execute(pythonRequest(code, overrides));
  const script =
    "a = tools.echo(text='one')\nb = tools.add(a=1, b=2)\nc = tools.echo(text='one')\n[a['text'], b, c['text']]";

  describe("durable tool calls", () => {
    it("records live calls and replays them without invoking the tools", async () => {
      const journal = new MemoryJournal();
      assert.deepEqual(ok(await run(script, { journal })), ["one", 3, "one"]);
      assert.equal(journal.records.length, 3);
      const invoker = testInvoker();
      // Records only (no snapshot): the script runs again and every call replays.
      const second = await run(script, { journal: new MemoryJournal(journal.records), invokeTool: invoker });
      assert.deepEqual(ok(second), ["one", 3, "one"]);
      assert.equal(invoker.calls.length, 0);
      assert.ok(second.toolCalls.every((c) => c.replayed === true));
      assert.deepEqual(second.unmatchedReplays, []);
    });
    it("replays a partial journal and continues live", async () => {
      const journal = new MemoryJournal();
      ok(await run(script, { journal }));
      const partial = new MemoryJournal(
        journal.records.filter((r) => r.tool === "echo" && r.occurrence === 1),
      );
      const invoker = testInvoker();
      const outcome = await run(script, { journal: partial, invokeTool: invoker });
      assert.deepEqual(ok(outcome), ["one", 3, "one"]);
      assert.deepEqual(
        invoker.calls.map((c) => c.tool),
        ["add", "echo"],
      );
      assert.deepEqual(
        outcome.toolCalls.map((c) => c.replayed ?? false),
        [true, false, false],
      );
    });
    it("replays the recorded result, even a different one, and a recorded failure as an exception", async () => {
      const recorded: ToolCallRecord = {
        seq: 1,
        tool: "add",
        argsJson: '{"a":1,"b":2}',
        occurrence: 1,
        status: "succeeded",
        output: 99,
        ms: 1,
      };
      const failedCall: ToolCallRecord = {
        seq: 2,
        tool: "echo",
        argsJson: '{"text":"x"}',
        occurrence: 1,
        status: "failed",
        ms: 1,
        failure: makeFailure("tool_failed", "recorded failure", false, { tool: "echo" }),
      };
      const code =
        "s = tools.add(b=2, a=1)\ntry:\n    tools.echo(text='x')\nexcept RuntimeError as e:\n    r = [s, 'recorded failure' in str(e)]\nr";
      assert.deepEqual(ok(await run(code, { journal: new MemoryJournal([recorded, failedCall]) })), [
        99,
        true,
      ]);
    });
    it("reports recorded calls the run never made", async () => {
      const journal = new MemoryJournal();
      ok(await run(script, { journal }));
      const outcome = await run("tools.echo(text='one')['text']", {
        journal: new MemoryJournal(journal.records),
      });
      assert.equal(ok(outcome), "one");
      assert.deepEqual(outcome.unmatchedReplays.map((c) => [c.tool, c.occurrence]).sort(), [
        ["add", 1],
        ["echo", 2],
      ]);
    });
  });

  describe("durable snapshots", () => {
    const five =
      "import random\nprint('start')\nr0 = random.random()\na = tools.echo(text='1')\nb = tools.echo(text='2')\nc = tools.echo(text='3')\nprint('after 3')\nd = tools.add(a=4, b=0)\ne = tools.add(a=5, b=0)\n[r0, random.random(), a['text'], b['text'], c['text'], d, e]";

    it("saves a snapshot at each tool call, before that call is recorded", async () => {
      const journal = new OrderedJournal();
      ok(await run(script, { journal }));
      assert.deepEqual(journal.events, [
        "snapshot 1",
        "record 1",
        "snapshot 2",
        "record 2",
        "snapshot 3",
        "record 3",
      ]);
      assert.ok(journal.snapshots.every((s) => s.engine === "monty" && s.data.byteLength > 0));
    });
    it("resumes from the last snapshot: the script is not re-run and earlier calls are not made again", async () => {
      const journal = new MemoryJournal();
      const full = await run(five, { journal });
      // As if the process died right after call 3 was journaled.
      const crashed = new MemoryJournal(journal.records.slice(0, 3), journal.snapshots.slice(0, 3));
      const invoker = testInvoker();
      const resumed = await run(five, { journal: crashed, invokeTool: invoker });
      assert.deepEqual(ok(resumed), ok(full), "same result, the random sequence continued");
      assert.deepEqual(resumed.resumedFromSnapshot, { seq: 3 });
      assert.deepEqual(
        invoker.calls.map((c) => [c.tool, c.args]),
        [
          ["add", { a: 4, b: 0 }],
          ["add", { a: 5, b: 0 }],
        ],
      );
      assert.deepEqual(
        resumed.toolCalls.map((c) => [c.seq, c.replayed ?? false]),
        [
          [1, true],
          [2, true],
          [3, true],
          [4, false],
          [5, false],
        ],
      );
      assert.deepEqual(resumed.logs, full.logs);
      assert.deepEqual(resumed.logs, ["start", "after 3"]);
    });
    it("makes the call a snapshot paused at when it was never journaled, and nothing before it", async () => {
      const journal = new MemoryJournal();
      const full = await run(five, { journal });
      // Only the snapshot at call 3 survived (the process died while call 3 was in flight).
      const invoker = testInvoker();
      const resumed = await run(five, {
        journal: new MemoryJournal([], [journal.snapshots[2]!]),
        invokeTool: invoker,
      });
      assert.deepEqual(ok(resumed), ok(full));
      assert.deepEqual(
        invoker.calls.map((c) => c.args),
        [{ text: "3" }, { a: 4, b: 0 }, { a: 5, b: 0 }],
      );
    });
    it("ignores a snapshot of another script or a corrupt one, and replays the journal instead", async () => {
      const journal = new MemoryJournal();
      const full = await run(five, { journal });
      const other = new MemoryJournal();
      ok(await run("tools.echo(text='other')\ntools.echo(text='again')\n1", { journal: other }));
      const corrupt: InterpreterSnapshot = { seq: 3, engine: "monty", data: new Uint8Array([1, 2, 3]) };
      for (const snapshot of [other.snapshots[0]!, corrupt]) {
        const invoker = testInvoker();
        const outcome = await run(five, {
          journal: new MemoryJournal(journal.records, [snapshot]),
          invokeTool: invoker,
        });
        assert.deepEqual(ok(outcome), ok(full));
        assert.equal(outcome.resumedFromSnapshot, undefined);
        assert.equal(invoker.calls.length, 0, "every call replayed from the journal");
      }
    });
  });
}
