// Store conformance, part 4: what each tenant stores (tenant_usage) and the quotas checked inside the writes —
// exact byte counts, refusals that write nothing, concurrent writers that never pass a quota together, and
// cache eviction that never crosses tenants.
import assert from "node:assert/strict";
import type { CacheEntry } from "../records.ts";
import type { Store } from "../store.ts";
import { QuotaExceededError } from "../store-errors.ts";
import { newRun, rejection, type SuiteContext } from "./conformance-kit.ts";

/** Bytes the journal counts for a JSON value (its text, as stored). */
const jb = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

const NONE = { journalBytes: null, blobBytes: null };

const cacheEntry = (tenant: string, hash: string, size: number, at: number): CacheEntry => ({
  tenant,
  tool: "echo",
  version: "1",
  argsHash: hash,
  value: { hash },
  sizeBytes: size,
  createdAt: at,
  expiresAt: at + 600_000,
});

async function quotaRefusal(p: Promise<unknown>, quota: "journalBytes" | "blobBytes"): Promise<void> {
  const e = await rejection(p);
  assert.ok(e instanceof QuotaExceededError, `expected QuotaExceededError, got ${String(e)}`);
  assert.equal(e.quota, quota);
}

export function usageSuite({ t, test }: SuiteContext): void {
  t.describe("usage and quotas", () => {
    test("counts each tenant's journal, blob and cache bytes exactly as stored", async (s) => {
      assert.deepEqual(await s.usage("t1"), {
        tenant: "t1",
        journalBytes: 0,
        blobBytes: 0,
        cacheBytes: 0,
        quota: NONE,
      });
      await newRun(s, "run_a", { goal: "héllo" });
      let expected = Buffer.byteLength("héllo");
      assert.equal((await s.usage("t1")).journalBytes, expected);
      const input = { code: "return 'é'", seed: 1 };
      const c = await s.claimStep({ runId: "run_a", key: "k1", kind: "codemode", input });
      assert.equal(c.kind, "claimed");
      expected += Buffer.byteLength("k1") + jb(input);
      assert.equal((await s.usage("t1")).journalBytes, expected);
      const output = { value: "x".repeat(100) };
      await s.endStep("run_a", 1, { status: "succeeded", output, failure: null, usage: null });
      expected += jb(output);
      assert.equal((await s.usage("t1")).journalBytes, expected);
      const call = {
        runId: "run_a",
        stepSeq: 1,
        seq: 1,
        tool: "echo",
        argsJson: '{"a":1}',
        occurrence: 1,
        status: "succeeded" as const,
        output: { a: 1 },
        failure: null,
        ms: 1,
        cached: false,
      };
      await s.recordToolCall(call);
      expected += Buffer.byteLength("echo") + Buffer.byteLength('{"a":1}') + jb({ a: 1 });
      assert.equal((await s.usage("t1")).journalBytes, expected);
      await s.recordToolCall({ ...call, output: { a: 22 } }); // replaced: counted once, at its new size
      expected += 1;
      assert.equal((await s.usage("t1")).journalBytes, expected);
      await s.putCheckpoint("run_a", "cp", { v: 1 });
      await s.putCheckpoint("run_a", "cp", { v: 12 }); // the last value counts
      expected += Buffer.byteLength("cp") + jb({ v: 12 });
      assert.equal((await s.usage("t1")).journalBytes, expected);

      await s.addBlobRef("t1", "a".repeat(64), 1000);
      await s.addBlobRef("t1", "a".repeat(64), 1000); // the same blob again: once per tenant
      await s.addBlobRef("t2", "a".repeat(64), 1000); // another tenant's reference is its own
      const now = Date.now();
      await s.putCache(cacheEntry("t1", "h1", 300, now), 1e9);
      await s.putCache(cacheEntry("t1", "h1", 200, now), 1e9); // replaced
      const u1 = await s.usage("t1");
      assert.deepEqual([u1.blobBytes, u1.cacheBytes], [1000, 200]);
      const u2 = await s.usage("t2");
      assert.deepEqual([u2.journalBytes, u2.blobBytes, u2.cacheBytes], [0, 1000, 0]);
      await s.clearCache("t1");
      assert.equal((await s.usage("t1")).cacheBytes, 0);
      assert.deepEqual(
        (await s.listUsage()).map((u) => [u.tenant, u.journalBytes, u.blobBytes]),
        [
          ["t1", expected, 1000],
          ["t2", 0, 1000],
        ],
      );
    });

    test("keeps the quota it was given per tenant, and reports it", async (s) => {
      await s.setQuota("t1", { journalBytes: 500, blobBytes: 2000 });
      await s.setQuota("t2", { journalBytes: 7, blobBytes: null });
      assert.deepEqual((await s.usage("t1")).quota, { journalBytes: 500, blobBytes: 2000 });
      await s.setQuota("t1", { journalBytes: null, blobBytes: 3000 });
      assert.deepEqual((await s.usage("t1")).quota, { journalBytes: null, blobBytes: 3000 });
      assert.deepEqual((await s.usage("t2")).quota, { journalBytes: 7, blobBytes: null });
    });

    test("refuses a run, a step, a step's end, a tool call and a checkpoint past the journal quota, writing nothing", async (s) => {
      await newRun(s, "run_a");
      await s.setQuota("t1", { journalBytes: 200, blobBytes: null });
      await quotaRefusal(newRun(s, "run_big", { goal: "g".repeat(300) }), "journalBytes");
      assert.equal(await s.getRun("t1", "run_big"), null, "no run");
      await quotaRefusal(
        s.claimStep({
          runId: "run_a",
          key: "big",
          kind: "tool",
          input: { text: "x".repeat(300) },
          announce: () => ({ type: "step.started", data: {} }),
        }),
        "journalBytes",
      );
      assert.equal(await s.getStep("run_a", "big"), null, "no step");
      assert.deepEqual(await s.listEvents("run_a", 0), [], "no event");
      assert.equal((await s.usage("t1")).journalBytes, 0, "nothing counted");

      await s.claimStep({ runId: "run_a", key: "k", kind: "tool", input: null });
      await quotaRefusal(
        s.endStep("run_a", 1, {
          status: "succeeded",
          output: { text: "y".repeat(300) },
          failure: null,
          usage: null,
          attempt: 1,
        }),
        "journalBytes",
      );
      const still = await s.getStep("run_a", "k");
      assert.deepEqual([still?.status, still?.output], ["started", null], "the end was not written");
      // The refusal itself can be journaled: a failed end is exempt from the check.
      const failure = {
        kind: "quota_exceeded",
        layer: "policy",
        message: "m".repeat(250),
        retryable: false,
      } as const;
      const ended = await s.endStep("run_a", 1, { status: "failed", output: null, failure, usage: null });
      assert.equal(ended.status, "failed");
      await quotaRefusal(
        s.recordToolCall({
          runId: "run_a",
          stepSeq: 1,
          seq: 1,
          tool: "echo",
          argsJson: JSON.stringify({ t: "z".repeat(100) }),
          occurrence: 1,
          status: "succeeded",
          output: null,
          failure: null,
          ms: 1,
          cached: false,
        }),
        "journalBytes",
      );
      assert.deepEqual(await s.listToolCalls("run_a", 1), []);
      await quotaRefusal(s.putCheckpoint("run_a", "cp", "c".repeat(100)), "journalBytes");
      assert.equal(await s.getCheckpoint("run_a", "cp"), null);
      // A run's final status is exempt too (the run records why it failed).
      const run = await s.updateRun("run_a", { status: "failed", failure });
      assert.equal(run.status, "failed");
      // Another tenant is not concerned.
      await newRun(s, "run_t2", { tenant: "t2", goal: "g".repeat(300) });
    });

    test("refuses a blob reference past the blob quota, writing nothing", async (s) => {
      await s.setQuota("t1", { journalBytes: null, blobBytes: 1500 });
      await s.addBlobRef("t1", "a".repeat(64), 1000);
      await s.addBlobRef("t1", "a".repeat(64), 1000); // already referenced: costs nothing, passes
      await quotaRefusal(s.addBlobRef("t1", "b".repeat(64), 600), "blobBytes");
      assert.equal(await s.hasBlobRef("t1", "b".repeat(64)), false);
      assert.equal((await s.usage("t1")).blobBytes, 1000);
      await s.addBlobRef("t1", "c".repeat(64), 500); // exactly at the quota
      assert.equal((await s.usage("t1")).blobBytes, 1500);
    });

    test("40 concurrent claims on several connections never pass the quota together", async (s, h) => {
      await newRun(s, "run_a");
      const stores: Store[] = [s, await h.open(), await h.open(), await h.open()];
      const input = { pad: "p".repeat(90) };
      const per = Buffer.byteLength("k00") + jb(input);
      const fit = 13;
      await s.setQuota("t1", { journalBytes: per * fit + per - 1, blobBytes: null });
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          stores[i % stores.length]!.claimStep({
            runId: "run_a",
            key: `k${String(i).padStart(2, "0")}`,
            kind: "tool",
            input,
          }),
        ),
      );
      const ok = results.filter((r) => r.status === "fulfilled").length;
      for (const r of results)
        if (r.status === "rejected") assert.ok(r.reason instanceof QuotaExceededError, String(r.reason));
      assert.equal(ok, fit, "exactly the claims that fit");
      assert.equal((await s.listSteps("run_a")).length, fit);
      const used = (await s.usage("t1")).journalBytes;
      assert.equal(used, per * fit);
    });

    test("re-claims, interruptions and ends count the journal exactly as stored", async (s) => {
      await newRun(s, "run_a");
      const stored = async () => {
        let n = 0;
        for (const st of await s.listSteps("run_a")) {
          n += Buffer.byteLength(st.key);
          for (const v of [st.input, st.output, st.failure, st.usage, st.remediation, st.audit])
            if (v !== null && v !== undefined) n += jb(v);
        }
        return n;
      };
      const claim = (key: string, audit: Record<string, unknown>) =>
        s.claimStep({ runId: "run_a", key, kind: "tool", input: { key, text: "é" }, audit });
      await claim("k1", { who: "a" });
      await claim("k2", { who: "b" });
      assert.equal(await s.interruptStartedSteps(), 2);
      assert.equal((await s.usage("t1")).journalBytes, await stored(), "interrupted: failures counted");
      const again = await claim("k1", { who: "a much longer audit than before" });
      assert.equal(again.kind, "claimed");
      assert.equal(
        (await s.usage("t1")).journalBytes,
        await stored(),
        "re-claimed: failure gone, audit grown",
      );
      await s.endStep("run_a", 1, {
        attempt: 2,
        status: "succeeded",
        output: { value: "x".repeat(40) },
        failure: null,
        usage: { wallMs: 3 },
        audit: { who: "a", resolved: "yes" },
      });
      assert.equal((await s.usage("t1")).journalBytes, await stored(), "ended: output, usage, new audit");
      const k2 = await claim("k2", { who: "b" });
      assert.equal(k2.kind, "claimed");
      await s.setQuota("t1", { journalBytes: (await stored()) + 10, blobBytes: null });
      await quotaRefusal(
        s.endStep("run_a", 2, {
          attempt: 2,
          status: "succeeded",
          output: { value: "y".repeat(40) },
          failure: null,
          usage: null,
        }),
        "journalBytes",
      );
      assert.equal((await s.usage("t1")).journalBytes, await stored(), "a refused end counts nothing");
    });

    test("claims issued together count per tenant; a claim rolled back, refused or replayed counts nothing", async (s) => {
      await newRun(s, "run_a");
      await newRun(s, "run_b", { tenant: "t2" });
      await s.claimStep({ runId: "run_a", key: "done", kind: "tool", input: null });
      const base = Buffer.byteLength("done");
      const input = { pad: "q".repeat(50) };
      const per = (key: string) => Buffer.byteLength(key) + jb(input);
      // t1 has room for its first claim of this round only; t2 has no quota.
      await s.setQuota("t1", { journalBytes: base + per("a1") + per("a2") - 1, blobBytes: null });
      const claim = (runId: string, key: string, announce?: () => never) =>
        s.claimStep({ runId, key, kind: "tool", input, ...(announce ? { announce } : {}) });
      const broken = () => {
        throw new Error("announce failed");
      };
      // Issued in one turn: a store that batches writes runs them in one transaction.
      const results = await Promise.allSettled([
        claim("run_b", "b1", broken), // rolled back after its insert
        claim("run_a", "a1"),
        claim("run_b", "b2"),
        claim("run_a", "a2"), // past t1's quota
        claim("run_a", "done"), // exists: inserts nothing
        claim("run_b", "b3"),
      ]);
      // Which of t1's two claims is refused depends on the order the store commits them in (one batch
      // in SQLite; concurrent transactions in PostgreSQL): exactly one of them is, and it wrote nothing.
      const t1 = [results[1], results[3]];
      assert.deepEqual(
        results.map((r, i) => (i === 1 || i === 3 ? "either" : r.status)),
        ["rejected", "either", "fulfilled", "either", "fulfilled", "fulfilled"],
      );
      assert.deepEqual(t1.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
      const refused = t1.find((r): r is PromiseRejectedResult => r.status === "rejected")!;
      assert.ok(refused.reason instanceof QuotaExceededError);
      const refusedKey = results[1].status === "rejected" ? "a1" : "a2";
      assert.equal(await s.getStep("run_a", refusedKey), null, "the refused claim wrote nothing");
      assert.equal(per("a1"), per("a2"));
      assert.equal((await s.usage("t1")).journalBytes, base + per("a1"));
      assert.equal((await s.usage("t2")).journalBytes, per("b2") + per("b3"));
      assert.equal(await s.getStep("run_b", "b1"), null, "the rolled-back claim wrote nothing");
      // Counted bytes stay exact afterwards: the next claim of t1 is still refused, t2's still counted.
      await quotaRefusal(claim("run_a", "a3"), "journalBytes");
      await claim("run_b", "b4");
      assert.equal((await s.usage("t2")).journalBytes, per("b2") + per("b3") + per("b4"));
    });

    test("evicts only the writing tenant's entries: another tenant's survive a flood", async (s) => {
      const now = Date.now();
      for (let i = 0; i < 5; i++) await s.putCache(cacheEntry("quiet", `q${i}`, 100, now + i), 2000, 1000);
      for (let i = 0; i < 100; i++)
        await s.putCache(cacheEntry("loud", `l${i}`, 100, now + 10 + i), 2000, 1000);
      for (let i = 0; i < 5; i++)
        assert.ok(await s.getCache("quiet", "echo", "1", `q${i}`, now + 200), `quiet entry q${i} survived`);
      const loud = await s.usage("loud");
      assert.ok(loud.cacheBytes <= 1000, `the flooder stays within its own share (${loud.cacheBytes})`);
      assert.ok(await s.getCache("loud", "echo", "1", "l99", now + 200), "its newest entry is kept");
      assert.equal(await s.getCache("loud", "echo", "1", "l0", now + 200), null, "its oldest was evicted");
      // The global cap: a tenant that would pass it evicts its own entries, never the quiet tenant's.
      for (let i = 0; i < 30; i++)
        await s.putCache(cacheEntry("third", `t${i}`, 100, now + 300 + i), 2000, 1e9);
      for (let i = 0; i < 5; i++)
        assert.ok(await s.getCache("quiet", "echo", "1", `q${i}`, now + 400), `q${i} survived the cap`);
      assert.equal((await s.cacheStats("quiet")).bytes, 500);
    });
  });
}
