// Store conformance, part 3: the tool-result cache (TTL, LRU inside a tenant's partition, stats, clearing), blob refs,
// registered tools, API keys, health and unstorable text (the tools' and keys' versions: conformance-versions.ts).
import assert from "node:assert/strict";
import type { CacheEntry } from "../records.ts";
import { UnstorableValueError } from "../store-errors.ts";
import { newRun, rejection, type SuiteContext } from "./conformance-kit.ts";

const entry = (hash: string, size: number, now: number, extra: Partial<CacheEntry> = {}): CacheEntry => ({
  tenant: "t1",
  tool: "echo",
  version: "1",
  argsHash: hash,
  value: { hash },
  sizeBytes: size,
  createdAt: now,
  expiresAt: now + 60_000,
  ...extra,
});

export function cacheSuite({ t, test }: SuiteContext): void {
  t.describe("cache", () => {
    test("returns a stored entry until it expires, and nothing for another key", async (s) => {
      const now = Date.now();
      await s.putCache(entry("a", 10, now, { expiresAt: now + 100 }), 1e9);
      assert.deepEqual(
        await s.getCache("t1", "echo", "1", "a", now + 1),
        entry("a", 10, now, { expiresAt: now + 100 }),
      );
      assert.equal(await s.getCache("t1", "echo", "1", "a", now + 100), null, "expired at expiresAt");
      assert.equal(await s.getCache("t1", "echo", "2", "a", now + 1), null, "another version");
      assert.equal(await s.getCache("t1", "other", "1", "a", now + 1), null, "another tool");
      assert.equal(await s.getCache("t2", "echo", "1", "a", now + 1), null, "another tenant");
    });

    test("replaces an entry written again, keeping the byte total right", async (s) => {
      const now = Date.now();
      await s.putCache(entry("a", 60, now), 100);
      await s.putCache(entry("a", 10, now, { value: "second" }), 100); // 10 bytes now, not 70
      await s.putCache(entry("b", 40, now), 100);
      await s.putCache(entry("c", 40, now), 100); // 90 in total: fits
      for (const h of ["a", "b", "c"]) assert.ok(await s.getCache("t1", "echo", "1", h, now + 1), h);
      assert.equal((await s.getCache("t1", "echo", "1", "a", now + 1))?.value, "second");
      assert.equal((await s.cacheStats("t1")).bytes, 90);
      await s.clearCache("t1");
      await s.putCache(entry("d", 95, now), 100);
      assert.ok(await s.getCache("t1", "echo", "1", "d", now + 1), "clearing lowered the total");
    });

    test("evicts the least recently used entries of the writing tenant only, beyond the byte cap", async (s) => {
      const now = Date.now();
      await s.putCache(entry("a", 40, now), 100);
      await s.putCache(entry("b", 40, now + 1, { tenant: "t2" }), 100);
      await s.getCache("t1", "echo", "1", "a", now + 2); // a is t1's least recently used
      await s.putCache(entry("c", 40, now + 3), 100);
      assert.equal(await s.getCache("t1", "echo", "1", "a", now + 4), null, "a: t1's least recently used");
      assert.ok(await s.getCache("t2", "echo", "1", "b", now + 4), "another tenant's entry is never evicted");
      assert.ok(await s.getCache("t1", "echo", "1", "c", now + 4));
      await s.putCache(entry("huge", 500, now + 5), 100);
      assert.equal(
        (await s.cacheStats("t1")).bytes,
        0,
        "t1 made room with its own entries, the huge one too",
      );
      assert.ok(await s.getCache("t2", "echo", "1", "b", now + 6));
    });

    test("drops expired entries when writing, before evicting live ones", async (s) => {
      const now = Date.now();
      await s.putCache(entry("live", 40, now), 100);
      await s.putCache(entry("old", 50, now + 1, { expiresAt: now + 2 }), 100);
      await s.putCache(entry("new", 40, now + 3), 100);
      assert.ok(
        await s.getCache("t1", "echo", "1", "live", now + 4),
        "the expired entry made room, not the live one",
      );
      assert.ok(await s.getCache("t1", "echo", "1", "new", now + 4));
    });

    test("counts hits and misses per tenant and reports live entries and bytes", async (s) => {
      const now = Date.now();
      await s.putCache(entry("a", 10, now), 1e9);
      await s.putCache(entry("b", 5, now, { tenant: "t2" }), 1e9);
      await s.getCache("t1", "echo", "1", "a", now + 1);
      await s.getCache("t1", "echo", "1", "a", now + 2);
      await s.countCacheMiss("t1");
      assert.deepEqual(await s.cacheStats("t1"), { entries: 1, bytes: 10, hits: 2, misses: 1 });
      assert.deepEqual(await s.cacheStats("t2"), { entries: 1, bytes: 5, hits: 0, misses: 0 });
      assert.deepEqual(await s.cacheStats("t3"), { entries: 0, bytes: 0, hits: 0, misses: 0 });
    });

    test("clears one tool's entries or all of a tenant's, never another tenant's", async (s) => {
      const now = Date.now();
      await s.putCache(entry("a", 1, now), 1e9);
      await s.putCache(entry("b", 1, now, { tool: "search" }), 1e9);
      await s.putCache(entry("c", 1, now, { tenant: "t2" }), 1e9);
      assert.equal(await s.clearCache("t1", "search"), 1);
      assert.equal(await s.getCache("t1", "search", "1", "b", now + 1), null);
      assert.ok(await s.getCache("t1", "echo", "1", "a", now + 1));
      assert.equal(await s.clearCache("t1"), 1);
      assert.equal(await s.clearCache("t1"), 0);
      assert.ok(await s.getCache("t2", "echo", "1", "c", now + 1));
    });
  });

  t.describe("blob refs, tools, API keys", () => {
    test("records which tenant may read a blob, idempotently", async (s) => {
      const sha = "a".repeat(64);
      assert.equal(await s.hasBlobRef("t1", sha), false);
      await s.addBlobRef("t1", sha, 10);
      await s.addBlobRef("t1", sha, 10);
      assert.equal(await s.hasBlobRef("t1", sha), true);
      assert.equal(await s.hasBlobRef("t2", sha), false);
    });

    test("stores a tenant's tools by name: upsert keeps the creation time, delete says whether it existed", async (s) => {
      const tool = {
        tenant: "t1",
        name: "weather",
        spec: { url: "http://x" },
        secret: "sealed",
        createdAt: 1,
        updatedAt: 1,
      };
      await s.putTool(tool);
      await s.putTool({ ...tool, name: "alpha", secret: null });
      await s.putTool({ ...tool, tenant: "t2" });
      await s.putTool({ ...tool, spec: { url: "http://y" }, secret: null, createdAt: 5, updatedAt: 5 });
      assert.deepEqual(await s.getTool("t1", "weather"), {
        ...tool,
        spec: { url: "http://y" },
        secret: null,
        updatedAt: 5,
      });
      assert.deepEqual(
        (await s.listTools("t1")).map((x) => x.name),
        ["alpha", "weather"],
      );
      assert.equal(await s.getTool("t3", "weather"), null);
      assert.equal(await s.deleteTool("t1", "weather"), true);
      assert.equal(await s.deleteTool("t1", "weather"), false);
      assert.ok(await s.getTool("t2", "weather"), "another tenant's tool of the same name stays");
    });

    test("stores API keys in creation order and revokes each once", async (s) => {
      const key = (id: string, createdAt: number) => ({
        id,
        tenant: "t1",
        policy: "default",
        salt: "s",
        hash: "h",
        createdAt,
        revokedAt: null,
      });
      await s.putApiKey(key("k2", 2));
      await s.putApiKey(key("k1", 1));
      assert.deepEqual(await s.listApiKeys(), [key("k1", 1), key("k2", 2)]);
      assert.equal(await s.revokeApiKey("k1", 10), true);
      assert.equal(await s.revokeApiKey("k1", 11), false);
      assert.equal(await s.revokeApiKey("nope", 11), false);
      assert.equal((await s.listApiKeys())[0]!.revokedAt, 10);
    });

    test("answers the health check while it can take writes", async (s) => {
      await s.ping();
      await s.ping();
    });

    test("refuses text with a NUL character with UnstorableValueError, writing nothing", async (s) => {
      await newRun(s, "run_a");
      const e1 = await rejection(s.claimStep({ runId: "run_a", key: "a\u0000b", kind: "tool", input: null }));
      assert.ok(e1 instanceof UnstorableValueError, String(e1));
      assert.deepEqual(await s.listSteps("run_a"), []);
      assert.ok(
        (await rejection(
          s.createRun({ id: "run_b", tenant: "t1", mode: "client", goal: "\u0000", implicit: false }),
        )) instanceof UnstorableValueError,
      );
      assert.equal(await s.getRunById("run_b"), null);
      const json = await s.claimStep({ runId: "run_a", key: "k", kind: "tool", input: { text: "a\u0000b" } });
      assert.deepEqual(
        (await s.getStep("run_a", "k"))!.input,
        { text: "a\u0000b" },
        "JSON values keep it exactly",
      );
      assert.equal(json.kind, "claimed");
    });
  });
}
