// Every write method of the Store, as a list a fault test can run while the storage refuses writes (disk
// full, read-only, server down): each must reject with StorageUnavailableError and leave nothing written,
// then succeed once the storage is back.
import assert from "node:assert/strict";
import type { Store } from "../store.ts";
import { newRun } from "./conformance-kit.ts";
import { apiKeyRecord, toolRecord } from "./record-fixtures.ts";

/** One write method, with a check that a failed attempt wrote nothing. */
export interface StoreWrite {
  name: string;
  write(s: Store): Promise<unknown>;
  /** Asserts the state is as `prepareWrites` left it (the failed write changed nothing). */
  unchanged(s: Store): Promise<void>;
}

const NOW = 1_800_000_000_000;
const SHA = "b".repeat(64);

/**
 * The state the writes act on: run_w (leased by A) with a started step "s" (seq 1) owned by A, a cache
 * entry, a tool and an API key. Call it while the storage still takes writes.
 * @example await prepareWrites(store); fillDisk(); for (const w of STORE_WRITES) await assert.rejects(w.write(store))
 */
export async function prepareWrites(s: Store): Promise<void> {
  await newRun(s, "run_w");
  await s.acquireLease("run_w", "A", 3_600_000);
  await s.claimStep({ runId: "run_w", key: "s", kind: "tool", input: { n: 1 }, owner: "A" });
  await s.putCache(
    {
      tenant: "t1",
      tool: "echo",
      version: "1",
      argsHash: "h",
      value: 1,
      sizeBytes: 1,
      createdAt: NOW,
      expiresAt: NOW * 2,
    },
    1e9,
  );
  await s.putTool(toolRecord("tool_w", { spec: {} }));
  await s.putApiKey(apiKeyRecord("key_w"));
}

const started = async (s: Store) => {
  const st = (await s.getStep("run_w", "s"))!;
  assert.deepEqual([st.status, st.attempt, st.output], ["started", 1, null], "step s unchanged");
};

export const STORE_WRITES: readonly StoreWrite[] = [
  {
    name: "createRun",
    write: (s) => newRun(s, "run_new"),
    unchanged: async (s) => assert.equal(await s.getRunById("run_new"), null),
  },
  {
    name: "updateRun",
    write: (s) => s.updateRun("run_w", { status: "succeeded", output: 1 }),
    unchanged: async (s) => assert.equal((await s.getRunById("run_w"))!.status, "running"),
  },
  {
    name: "updateRun with an announcing event",
    write: (s) =>
      s.updateRun(
        "run_w",
        { status: "succeeded", output: 1 },
        { announce: { type: "run.completed", data: { status: "succeeded" } } },
      ),
    unchanged: async (s) => {
      assert.equal((await s.getRunById("run_w"))!.status, "running");
      assert.deepEqual(
        (await s.listEvents("run_w", 0)).filter((e) => e.type === "run.completed"),
        [],
      );
    },
  },
  {
    name: "acquireLease",
    write: (s) => s.acquireLease("run_w", "B", 1000, "A"),
    unchanged: async (s) => assert.equal((await s.getRunById("run_w"))!.leaseOwner, "A"),
  },
  {
    name: "releaseLease",
    write: (s) => s.releaseLease("run_w", "A"),
    unchanged: async (s) => assert.equal((await s.getRunById("run_w"))!.leaseOwner, "A"),
  },
  {
    name: "claimStep (new key)",
    write: (s) => s.claimStep({ runId: "run_w", key: "new", kind: "tool", input: null }),
    unchanged: async (s) => assert.equal(await s.getStep("run_w", "new"), null),
  },
  {
    name: "claimStep (re-claim)",
    write: (s) => s.claimStep({ runId: "run_w", key: "s", kind: "tool", input: null }),
    unchanged: started,
  },
  {
    name: "endStep",
    write: (s) =>
      s.endStep("run_w", 1, { status: "succeeded", output: { done: true }, failure: null, usage: null }),
    unchanged: started,
  },
  {
    name: "heartbeatSteps",
    write: (s) => s.heartbeatSteps("A"),
    unchanged: started,
  },
  {
    name: "interruptStartedSteps",
    write: (s) => s.interruptStartedSteps(),
    unchanged: started,
  },
  {
    name: "recordToolCall",
    write: (s) =>
      s.recordToolCall({
        runId: "run_w",
        stepSeq: 1,
        seq: 1,
        tool: "echo",
        argsJson: "{}",
        occurrence: 1,
        status: "succeeded",
        output: {},
        failure: null,
        ms: 1,
        cached: false,
      }),
    unchanged: async (s) => assert.deepEqual(await s.listToolCalls("run_w", 1), []),
  },
  {
    name: "putCheckpoint",
    write: (s) => s.putCheckpoint("run_w", "c", { big: "x".repeat(10_000) }),
    unchanged: async (s) => assert.equal(await s.getCheckpoint("run_w", "c"), null),
  },
  {
    name: "appendEvent",
    write: (s) => s.appendEvent("run_w", "step.started", { seq: 1 }),
    unchanged: async (s) => assert.deepEqual(await s.listEvents("run_w", 0), []),
  },
  {
    name: "putCache",
    write: (s) =>
      s.putCache(
        {
          tenant: "t1",
          tool: "echo",
          version: "1",
          argsHash: "h2",
          value: "v",
          sizeBytes: 1,
          createdAt: NOW,
          expiresAt: NOW * 2,
        },
        1e9,
      ),
    unchanged: async (s) => assert.equal(await s.getCache("t1", "echo", "1", "h2", NOW), null),
  },
  {
    name: "getCache (a hit records its use)",
    write: (s) => s.getCache("t1", "echo", "1", "h", NOW),
    unchanged: async (s) => assert.equal((await s.cacheStats("t1")).hits, 0),
  },
  {
    name: "clearCache",
    write: (s) => s.clearCache("t1"),
    unchanged: async (s) => assert.equal((await s.cacheStats("t1")).entries, 1),
  },
  {
    name: "addBlobRef",
    write: (s) => s.addBlobRef("t1", SHA, 3),
    unchanged: async (s) => assert.equal(await s.hasBlobRef("t1", SHA), false),
  },
  {
    name: "setQuota",
    write: (s) => s.setQuota("t1", { journalBytes: 123, blobBytes: 456 }),
    unchanged: async (s) =>
      assert.deepEqual((await s.usage("t1")).quota, { journalBytes: null, blobBytes: null }),
  },
  {
    name: "putTool",
    write: (s) =>
      s.putTool({ tenant: "t1", name: "tool_new", spec: {}, secret: null, createdAt: 1, updatedAt: 1 }),
    unchanged: async (s) => assert.equal(await s.getTool("t1", "tool_new"), null),
  },
  {
    name: "deleteTool",
    write: (s) => s.deleteTool("t1", "tool_w"),
    unchanged: async (s) => assert.ok(await s.getTool("t1", "tool_w")),
  },
  {
    name: "putApiKey",
    write: (s) =>
      s.putApiKey({
        id: "key_new",
        tenant: "t1",
        policy: "default",
        salt: "s",
        hash: "h",
        createdAt: 2,
        revokedAt: null,
      }),
    unchanged: async (s) => assert.equal((await s.listApiKeys()).length, 1),
  },
  {
    name: "revokeApiKey",
    write: (s) => s.revokeApiKey("key_w", 5),
    unchanged: async (s) => assert.equal((await s.listApiKeys())[0]!.revokedAt, null),
  },
];
