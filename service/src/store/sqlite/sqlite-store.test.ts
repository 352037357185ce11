import * as t from "node:test";
import { describe, it, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { DatabaseSync } from "node:sqlite";
import { SqliteStore } from "./sqlite-store.ts";
import { MIGRATIONS } from "./migrations.ts";
import { runStoreConformance } from "../testing/store-conformance.ts";
import { apiKeyRecord } from "../testing/record-fixtures.ts";

runStoreConformance(t, "sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mend-store-"));
  const path = join(dir, "mend.db");
  return {
    store: SqliteStore.open(path),
    open: async () => SqliteStore.open(path),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

let dir: string;
let store: SqliteStore;
const newRun = (id: string) =>
  store.createRun({ id, tenant: "t1", mode: "client", goal: null, implicit: false });

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

  it("migrates a file of an older version, keeping its rows", async () => {
    const path = join(dir, "old.db");
    const db = new DatabaseSync(path);
    for (let v = 0; v < 3; v++) db.exec(MIGRATIONS[v]!);
    db.exec("PRAGMA user_version=3");
    db.exec(
      "INSERT INTO runs (id, tenant, mode, status, created_at, updated_at) VALUES ('run_old', 't1', 'client', 'running', 1, 1)",
    );
    db.exec(
      "INSERT INTO steps (run_id, seq, key, kind, status, attempt, started_at) VALUES ('run_old', 1, 'k', 'tool', 'started', 1, 1)",
    );
    db.close();
    const old = SqliteStore.open(path);
    try {
      assert.equal(old.schemaVersion, MIGRATIONS.length);
      const step = await old.getStep("run_old", "k");
      assert.deepEqual([step?.status, step?.owner, step?.heartbeatAt], ["started", null, null]);
    } finally {
      await old.close();
    }
  });

  it("opens the file in WAL mode", () => {
    const db = new DatabaseSync(join(dir, "mend.db"));
    assert.equal((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
    db.close();
  });
});

describe("SqliteStore across processes", () => {
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

describe("SqliteStore versions of cached lists", () => {
  it("moves the API keys' version again once a key write settled: a list read while a revocation was pending is read again", async () => {
    const key = apiKeyRecord("k1");
    await store.putApiKey(key);
    const pending = store.revokeApiKey("k1", 2);
    // What a reader sees now (ApiKeys reads the version, then the list) may still hold the key as valid.
    const during = await store.apiKeysVersion();
    await pending;
    assert.notEqual(await store.apiKeysVersion(), during);
    const created = store.putApiKey({ ...key, id: "k2" });
    const beforeCreated = await store.apiKeysVersion();
    await created;
    assert.notEqual(await store.apiKeysVersion(), beforeCreated);
  });
});
