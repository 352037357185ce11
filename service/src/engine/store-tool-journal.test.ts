// The store-backed tool-call journal: interpreter snapshots kept inline or as blobs, checked on the way back.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { StepKeySchema } from "@mend/wire";
import { BlobStore } from "../store/blob-store.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { INLINE_SNAPSHOT_BYTES, StoreToolJournal, snapshotCheckpointKey } from "./store-tool-journal.ts";

describe("StoreToolJournal snapshots", () => {
  let dir: string;
  let store: SqliteStore;
  let blobs: BlobStore;
  let step = 0;
  const journal = async (withBlobs = true) => {
    const claim = await store.claimStep({ runId: "run_j", key: `s${step++}`, kind: "codemode", input: null });
    return {
      seq: claim.step.seq,
      journal: new StoreToolJournal(store, "run_j", claim.step.seq, undefined, withBlobs ? blobs : undefined),
    };
  };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "mend-journal-"));
    store = SqliteStore.open(join(dir, "mend.db"));
    blobs = new BlobStore(join(dir, "blobs"));
    await store.createRun({ id: "run_j", tenant: "local", mode: "client", goal: null, implicit: false });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps only the latest snapshot of a step; a small one inside its pointer, no file", async () => {
    const { journal: j } = await journal();
    assert.equal(await j.latestSnapshot(), undefined);
    await j.saveSnapshot({ seq: 1, engine: "monty", data: Buffer.from("first") });
    await j.saveSnapshot({ seq: 2, engine: "monty", data: Buffer.from("second") });
    const latest = await j.latestSnapshot();
    assert.equal(latest?.seq, 2);
    assert.equal(Buffer.from(latest.data).toString(), "second");
    assert.equal(existsSync(join(dir, "blobs")), false, "no blob file for a small snapshot");
  });

  it("puts a large snapshot in the blob store and refuses it once the file no longer matches its address", async () => {
    const { journal: j } = await journal();
    const big = Buffer.alloc(INLINE_SNAPSHOT_BYTES + 1, 7);
    await j.saveSnapshot({ seq: 3, engine: "monty", data: big });
    const back = await j.latestSnapshot();
    assert.equal(back?.seq, 3);
    assert.ok(Buffer.from(back.data).equals(big));
    const files = readdirSync(join(dir, "blobs"), { recursive: true, withFileTypes: true }).filter((d) =>
      d.isFile(),
    );
    assert.equal(files.length, 1);
    writeFileSync(join(files[0]!.parentPath, files[0]!.name), Buffer.alloc(big.length, 8));
    assert.equal(await j.latestSnapshot(), undefined, "tampered bytes are not handed to an interpreter");
  });

  it("keeps no large snapshot without a blob store, and the small ones still", async () => {
    const { journal: j } = await journal(false);
    await j.saveSnapshot({ seq: 1, engine: "monty", data: Buffer.alloc(INLINE_SNAPSHOT_BYTES + 1) });
    assert.equal(await j.latestSnapshot(), undefined);
    await j.saveSnapshot({ seq: 2, engine: "monty", data: Buffer.from("small") });
    assert.equal((await j.latestSnapshot())?.seq, 2);
  });

  it("records a call only after the snapshot taken at it is written", async () => {
    const { journal: j, seq } = await journal();
    const order: string[] = [];
    const saving = j
      .saveSnapshot({ seq: 1, engine: "monty", data: Buffer.alloc(INLINE_SNAPSHOT_BYTES + 10) })
      .then(() => {
        order.push("snapshot");
      });
    const recording = j
      .record({ seq: 1, tool: "echo", argsJson: "{}", occurrence: 1, status: "succeeded", output: 1, ms: 0 })
      .then(() => order.push("record"));
    await Promise.all([saving, recording]);
    assert.deepEqual(order, ["snapshot", "record"]);
    assert.equal((await store.listToolCalls("run_j", seq)).length, 1);
  });

  it("uses a checkpoint key that no API caller can name", () => {
    assert.equal(Value.Check(StepKeySchema, snapshotCheckpointKey(1)), false);
  });
});
