// Store conformance, replicas: heartbeats hold leases and step ownership (a lapsed one is not revived),
// retirement hands everything over, the takeover sweep's query, claims fenced by a lease, cache fill marks.
import assert from "node:assert/strict";
import { FencedError } from "../store-errors.ts";
import type { CacheKey, Store } from "../store.ts";
import { newRun, rejection, untilPast, type SuiteContext } from "./conformance-kit.ts";

const KEY: CacheKey = { tenant: "t1", tool: "echo", version: "1", argsHash: "h1" };

async function hostedRun(s: Store, id: string): Promise<void> {
  await newRun(s, id, { mode: "hosted", goal: "g" });
}

/** Registers the replica tests. */
export function replicasSuite({ t, test }: SuiteContext): void {
  t.describe("replicas", () => {
    test("a heartbeat registers the replica and counts the live ones", async (s, h) => {
      assert.equal(await s.heartbeatReplica("A", 60_000), 1);
      const other = await h.open();
      assert.equal(await other.heartbeatReplica("B", 60_000), 2);
      assert.equal(await s.heartbeatReplica("A", 60_000), 2);
      // A replica whose heartbeat is older than its TTL is not counted.
      await other.heartbeatReplica("C", 5);
      await untilPast(Date.now() + 6);
      assert.equal(await s.heartbeatReplica("A", 60_000), 2);
      await other.retireReplica("B");
      assert.equal(await s.heartbeatReplica("A", 60_000), 1);
    });

    test("a heartbeat renews the leases its replica holds, never a lapsed one", async (s) => {
      await hostedRun(s, "r1");
      await hostedRun(s, "r2");
      assert.equal(await s.acquireLease("r1", "A", 60_000), true);
      assert.equal(await s.acquireLease("r2", "A", 20), true);
      await untilPast((await s.getRunById("r2"))!.leaseExpiresAt!);
      await s.heartbeatReplica("A", 60_000);
      const r1 = await s.getRunById("r1");
      assert.ok(r1!.leaseExpiresAt! > Date.now() + 30_000, "r1's lease is renewed");
      const r2 = await s.getRunById("r2");
      assert.ok(r2!.leaseExpiresAt! < Date.now(), "r2's lapsed lease stays lapsed");
      assert.deepEqual(await s.unleasedRuns(10), ["r2"]);
      assert.equal(await s.acquireLease("r2", "B", 60_000), true, "another replica takes r2 over");
      assert.deepEqual(await s.unleasedRuns(10), []);
    });

    test("the sweep finds hosted running runs with a free or lapsed lease, oldest first", async (s) => {
      await hostedRun(s, "h1");
      await newRun(s, "c1");
      await hostedRun(s, "h2");
      await hostedRun(s, "h3");
      await s.updateRun("h3", { status: "succeeded" });
      assert.deepEqual(await s.unleasedRuns(10), ["h1", "h2"]);
      assert.deepEqual(await s.unleasedRuns(1), ["h1"]);
      await s.acquireLease("h1", "A", 60_000);
      assert.deepEqual(await s.unleasedRuns(10), ["h2"]);
    });

    test("a heartbeat keeps a started step owned; a lapsed one can be claimed as attempt + 1", async (s, h) => {
      await newRun(s, "run_a");
      const ttl = 60_000;
      await s.heartbeatReplica("A", ttl);
      const a = await s.claimStep({
        runId: "run_a",
        key: "k",
        kind: "tool",
        input: 1,
        owner: "A",
        ownerTtlMs: ttl,
      });
      assert.equal(a.kind, "claimed");
      const other = await h.open();
      const b = await other.claimStep({
        runId: "run_a",
        key: "k",
        kind: "tool",
        input: 1,
        owner: "B",
        ownerTtlMs: ttl,
      });
      assert.equal(b.kind, "owned");
      // Retired: its started step's heartbeat is dropped, so it is claimed at once.
      await s.retireReplica("A");
      const c = await other.claimStep({
        runId: "run_a",
        key: "k",
        kind: "tool",
        input: 1,
        owner: "B",
        ownerTtlMs: ttl,
      });
      assert.equal(c.kind, "claimed");
      assert.equal(c.step.attempt, 2);
      // A's late end is fenced out; a heartbeat of A revives nothing.
      await s.heartbeatReplica("A", ttl);
      assert.equal((await other.getStep("run_a", "k"))!.owner, "B");
      const late = await rejection(
        s.endStep("run_a", a.step.seq, {
          status: "succeeded",
          output: 1,
          failure: null,
          usage: null,
          attempt: a.step.attempt,
        }),
      );
      assert.ok(late instanceof FencedError);
    });

    test("a step heartbeat that lapsed is not renewed by its owner's next heartbeat", async (s) => {
      await newRun(s, "run_a");
      const claimed = await s.claimStep({ runId: "run_a", key: "k", kind: "tool", input: 1, owner: "A" });
      const at = claimed.step.heartbeatAt!;
      await untilPast(at + 10);
      await s.heartbeatReplica("A", 5);
      assert.equal((await s.getStep("run_a", "k"))!.heartbeatAt, at);
      await s.heartbeatReplica("A", 60_000);
      assert.ok((await s.getStep("run_a", "k"))!.heartbeatAt! > at, "a live one is renewed");
    });

    test("retirement releases the replica's leases at once", async (s) => {
      await hostedRun(s, "r1");
      await s.acquireLease("r1", "A", 60_000);
      assert.equal(await s.acquireLease("r1", "B", 60_000), false);
      await s.retireReplica("A");
      assert.deepEqual(await s.unleasedRuns(10), ["r1"]);
      assert.equal(await s.acquireLease("r1", "B", 60_000), true);
    });

    test("a claim fenced by a lease writes nothing once the lease is another's", async (s) => {
      await hostedRun(s, "r1");
      await s.acquireLease("r1", "A", 60_000);
      const ok = await s.claimStep({ runId: "r1", key: "k1", kind: "llm", input: 1, lease: "A" });
      assert.equal(ok.kind, "claimed");
      await s.releaseLease("r1", "A");
      await s.acquireLease("r1", "B", 60_000);
      const fenced = await rejection(
        s.claimStep({ runId: "r1", key: "k2", kind: "llm", input: 1, lease: "A" }),
      );
      assert.ok(fenced instanceof FencedError);
      assert.equal(await s.getStep("r1", "k2"), null, "nothing written");
      await s.acquireLease("r1", "B", 10);
      await untilPast((await s.getRunById("r1"))!.leaseExpiresAt!);
      const lapsed = await rejection(
        s.claimStep({ runId: "r1", key: "k3", kind: "llm", input: 1, lease: "B" }),
      );
      assert.ok(lapsed instanceof FencedError, "a lapsed lease fences its own holder too");
    });

    test("a cache fill mark is held by a live replica and taken over from a dead one", async (s, h) => {
      const other = await h.open();
      await s.heartbeatReplica("A", 60_000);
      await other.heartbeatReplica("B", 60_000);
      assert.equal(await s.claimCacheFill(KEY, "A"), true);
      assert.equal(await s.claimCacheFill(KEY, "A"), true, "its own mark");
      assert.equal(await other.claimCacheFill(KEY, "B"), false, "A is alive");
      assert.equal(await other.claimCacheFill({ ...KEY, argsHash: "h2" }, "B"), true, "another key");
      await s.releaseCacheFill(KEY, "B");
      assert.equal(await other.claimCacheFill(KEY, "B"), false, "only its owner releases a mark");
      await s.releaseCacheFill(KEY, "A");
      assert.equal(await other.claimCacheFill(KEY, "B"), true);
      // B dies (no live heartbeat): A takes the mark over.
      await other.heartbeatReplica("B", 5);
      await untilPast(Date.now() + 6);
      assert.equal(await s.claimCacheFill(KEY, "A"), true);
      // A mark of an owner that never registered is not held either.
      assert.equal(await s.claimCacheFill({ ...KEY, tool: "x" }, "ghost"), true);
      assert.equal(await s.claimCacheFill({ ...KEY, tool: "x" }, "A"), true);
    });
  });
}
