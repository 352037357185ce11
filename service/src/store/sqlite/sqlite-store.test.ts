import { describe, it, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { DatabaseSync } from "node:sqlite";
import { SqliteStore } from "./sqlite-store.ts";
import { MIGRATIONS } from "./migrations.ts";

let dir: string;
let store: SqliteStore;
const newRun = (id: string, extra: Record<string, unknown> = {}) =>
  store.createRun({ id, tenant: "t1", mode: "client", goal: null, implicit: false, ...extra });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mend-store-"));
  store = SqliteStore.open(join(dir, "mend.db"));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("SqliteStore migrations", () => {
  it("migrates an empty file to the latest schema version and keeps data when reopened", async () => {
    assert.equal(store.schemaVersion, MIGRATIONS.length);
    await newRun("run_a");
    await store.close();
    store = SqliteStore.open(join(dir, "mend.db"));
    assert.equal(store.schemaVersion, MIGRATIONS.length);
    assert.equal((await store.getRun("t1", "run_a"))?.id, "run_a");
  });

  it("opens the file in WAL mode", () => {
    const db = new DatabaseSync(join(dir, "mend.db"));
    assert.equal((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
    db.close();
  });
});

describe("SqliteStore runs", () => {
  it("returns the existing run for a repeated idempotency key", async () => {
    const a = await newRun("run_a", { idempotencyKey: "k1" });
    const b = await newRun("run_b", { idempotencyKey: "k1" });
    assert.equal(a.created, true);
    assert.equal(b.created, false);
    assert.equal(b.run.id, "run_a");
  });

  it("never shows a run to another tenant", async () => {
    await newRun("run_a");
    assert.equal(await store.getRun("t2", "run_a"), null);
    assert.equal((await store.listRuns("t2", { limit: 10 })).items.length, 0);
  });

  it("pages through runs with a cursor without repeating or skipping any", async () => {
    for (let i = 0; i < 7; i++) await newRun(`run_${i}`);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listRuns("t1", { limit: 3, cursor });
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    assert.equal(seen.length, 7);
    assert.equal(new Set(seen).size, 7);
  });
});

describe("SqliteStore step journal", () => {
  it("claims a new key, returns a finished key as is, and re-attempts an unfinished one", async () => {
    await newRun("run_a");
    const first = await store.claimStep({ runId: "run_a", key: "k", kind: "tool", input: { n: 1 } });
    assert.equal(first.kind, "claimed");
    assert.equal(first.step.attempt, 1);
    const again = await store.claimStep({ runId: "run_a", key: "k", kind: "tool", input: { n: 2 } });
    assert.equal(again.kind, "claimed");
    assert.equal(again.step.attempt, 2);
    assert.deepEqual(again.step.input, { n: 1 }, "a re-claimed step keeps its original input");
    await store.endStep("run_a", again.step.seq, {
      status: "succeeded",
      output: { ok: 1 },
      failure: null,
      usage: null,
    });
    const done = await store.claimStep({ runId: "run_a", key: "k", kind: "tool", input: {} });
    assert.equal(done.kind, "finished");
    assert.deepEqual(done.step.output, { ok: 1 });
  });

  it("numbers steps of a run in order", async () => {
    await newRun("run_a");
    for (const k of ["a", "b", "c"])
      await store.claimStep({ runId: "run_a", key: k, kind: "tool", input: null });
    assert.deepEqual(
      (await store.listSteps("run_a")).map((s) => [s.seq, s.key]),
      [
        [1, "a"],
        [2, "b"],
        [3, "c"],
      ],
    );
  });

  it("marks started steps interrupted on shutdown", async () => {
    await newRun("run_a");
    await store.claimStep({ runId: "run_a", key: "k", kind: "tool", input: null });
    assert.equal(await store.interruptStartedSteps(), 1);
    const s = await store.getStep("run_a", "k");
    assert.equal(s?.status, "interrupted");
    assert.equal(s?.failure?.kind, "interrupted");
  });

  it("survives concurrent writers in separate processes", async () => {
    const path = join(dir, "mend.db");
    await newRun("run_a");
    const writer = (name: string) =>
      new Promise<number>((resolve, reject) => {
        const code = `
          import { SqliteStore } from ${JSON.stringify(new URL("./sqlite-store.ts", import.meta.url).href)};
          const s = SqliteStore.open(${JSON.stringify(path)});
          for (let i = 0; i < 300; i++) {
            const c = await s.claimStep({ runId: "run_a", key: "${name}-" + i, kind: "tool", input: { i } });
            await s.endStep("run_a", c.step.seq, { status: "succeeded", output: i, failure: null, usage: null });
            await s.appendEvent("run_a", "step.completed", { i });
          }
          await s.close();`;
        const p = spawn(process.execPath, ["--input-type=module", "-e", code], {
          stdio: ["ignore", "ignore", "pipe"],
        });
        let err = "";
        p.stderr.on("data", (d: Buffer) => (err += d.toString()));
        p.on("exit", (c) => (c === 0 ? resolve(c) : reject(new Error(`writer ${name} exited ${c}: ${err}`))));
      });
    await Promise.all([writer("x"), writer("y"), writer("z")]);
    const steps = await store.listSteps("run_a");
    assert.equal(steps.length, 900);
    assert.equal(new Set(steps.map((s) => s.seq)).size, 900, "sequence numbers are unique");
    assert.ok(steps.every((s) => s.status === "succeeded"));
    assert.equal((await store.listEvents("run_a", 0)).length, 900);
    assert.equal(store.integrityCheck(), "ok");
  });
});

describe("SqliteStore cache", () => {
  const entry = (hash: string, size: number, now: number, ttlMs = 60_000) => ({
    tenant: "t1",
    tool: "echo",
    version: "1",
    argsHash: hash,
    value: { hash },
    sizeBytes: size,
    createdAt: now,
    expiresAt: now + ttlMs,
  });

  it("does not return an expired entry", async () => {
    const now = Date.now();
    await store.putCache(entry("a", 10, now, 1), 1e9);
    assert.equal(await store.getCache("t1", "echo", "1", "a", now + 5), null);
  });

  it("keeps the byte total right when an entry is replaced, so nothing is evicted needlessly", async () => {
    const now = Date.now();
    await store.putCache(entry("a", 60, now), 100);
    await store.putCache(entry("a", 10, now), 100); // replaced: 10 bytes, not 70
    await store.putCache(entry("b", 40, now), 100);
    await store.putCache(entry("c", 40, now), 100); // 90 in total: fits
    for (const h of ["a", "b", "c"]) assert.ok(await store.getCache("t1", "echo", "1", h, now + 1), h);
    assert.equal((await store.cacheStats("t1")).bytes, 90);
    await store.clearCache("t1");
    await store.putCache(entry("d", 95, now), 100);
    assert.ok(await store.getCache("t1", "echo", "1", "d", now + 1), "deletes lowered the total");
  });

  it("evicts the least recently used entries beyond the byte cap", async () => {
    const now = Date.now();
    await store.putCache(entry("a", 40, now), 100);
    await store.putCache(entry("b", 40, now), 100);
    await store.getCache("t1", "echo", "1", "a", now + 1); // a is now more recent than b
    await store.putCache(entry("c", 40, now + 2), 100);
    assert.ok(await store.getCache("t1", "echo", "1", "a", now + 3));
    assert.equal(await store.getCache("t1", "echo", "1", "b", now + 3), null);
    const stats = await store.cacheStats("t1");
    assert.equal(stats.entries, 2);
    assert.equal(stats.hits, 2);
  });
});
