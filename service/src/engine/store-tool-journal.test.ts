// The store-backed tool-call journal: interpreter snapshots kept inline or as blobs, checked on the way back,
// on SQLite with blob files and on PostgreSQL with its blob table.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { StepKeySchema, makeFailure } from "@mend/wire";
import type { ToolCallRecord } from "@mend/sandboxes";
import type { BlobStore } from "../store/blob-store.ts";
import { FileBlobStore } from "../store/file-blob-store.ts";
import { PostgresStore } from "../store/postgres/postgres-store.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import type { Store } from "../store/store.ts";
import { freshDatabase, postgresServer } from "../../../test/support/postgres-server.ts";
import {
  INLINE_SNAPSHOT_BYTES,
  MAX_DEFERRED_CALLS,
  StoreToolJournal,
  snapshotCheckpointKey,
} from "./store-tool-journal.ts";

interface Backend {
  store: Store;
  blobs: BlobStore;
  /** Overwrites the stored bytes of a blob (tampering), where the backend allows a test to. */
  tamper?: (sha256: string) => void;
  destroy(): Promise<void>;
}

const pgAvailable = await postgresServer();
after(() => pgAvailable.server?.stop());

const BACKENDS: { name: string; skip?: string; open(): Promise<Backend> }[] = [
  {
    name: "SQLite and blob files",
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "mend-journal-"));
      const store = SqliteStore.open(join(dir, "mend.db"));
      return {
        store,
        blobs: new FileBlobStore(join(dir, "blobs")),
        tamper(sha256) {
          const file = readdirSync(join(dir, "blobs"), { recursive: true, withFileTypes: true }).find(
            (d) => d.isFile() && d.name === sha256,
          )!;
          writeFileSync(join(file.parentPath, file.name), Buffer.alloc(INLINE_SNAPSHOT_BYTES + 1, 8));
        },
        async destroy() {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "PostgreSQL",
    ...(pgAvailable.server ? {} : { skip: pgAvailable.reason }),
    async open() {
      const db = await freshDatabase(pgAvailable.server!.url);
      const store = await PostgresStore.open(db.url, { poolSize: 2 });
      return {
        store,
        blobs: store.blobStore(),
        async destroy() {
          await store.close();
          await db.drop();
        },
      };
    },
  },
];

for (const backend of BACKENDS) {
  describe(`StoreToolJournal snapshots on ${backend.name}`, { skip: backend.skip }, () => {
    let b: Backend;
    let step = 0;
    const journal = async (withBlobs = true, options?: { deferDeterministic: boolean }) => {
      const claim = await b.store.claimStep({
        runId: "run_j",
        key: `s${step++}`,
        kind: "codemode",
        input: null,
      });
      return {
        seq: claim.step.seq,
        journal: new StoreToolJournal(
          b.store,
          "run_j",
          claim.step.seq,
          undefined,
          withBlobs ? b.blobs : undefined,
          options,
        ),
      };
    };
    before(async () => {
      b = await backend.open();
      await b.store.createRun({ id: "run_j", tenant: "local", mode: "client", goal: null, implicit: false });
    });
    after(async () => b.destroy());

    it("defers a deterministic tool's succeeded call to the step's end, writes every other call at once, and writes the deferred ones before a snapshot", async () => {
      const { journal: j, seq } = await journal(true, { deferDeterministic: true });
      const call = (
        n: number,
        extra: Pick<ToolCallRecord, "status"> & Partial<ToolCallRecord>,
      ): ToolCallRecord => ({
        seq: n,
        tool: "echo",
        argsJson: JSON.stringify({ n }),
        occurrence: 1,
        ms: 1,
        ...extra,
      });
      await j.record(call(1, { status: "succeeded", output: { n: 1 }, deterministic: true }));
      await j.record(call(2, { status: "succeeded", output: { n: 2 } })); // not deterministic: written now
      const failure = makeFailure("tool_failed", "no", false);
      await j.record(call(3, { status: "failed", failure, deterministic: true })); // a failure: written now
      assert.deepEqual(
        (await b.store.listToolCalls("run_j", seq)).map((r) => r.seq),
        [2, 3],
      );
      await j.record(call(4, { status: "succeeded", output: { n: 4 }, deterministic: true }));
      const deferred = j.takeDeferred();
      assert.deepEqual(
        deferred.map((r) => [r.seq, r.output]),
        [
          [1, { n: 1 }],
          [4, { n: 4 }],
        ],
      );
      assert.deepEqual(j.takeDeferred(), [], "handed over once");
      // A snapshot counts every call before it as recorded: the deferred ones go first.
      await j.record(call(5, { status: "succeeded", output: { n: 5 }, deterministic: true }));
      await j.saveSnapshot({ seq: 6, engine: "monty", data: Buffer.from("state") });
      assert.deepEqual(
        (await b.store.listToolCalls("run_j", seq)).map((r) => r.seq),
        [2, 3, 5],
      );
      assert.deepEqual(j.takeDeferred(), []);
    });

    it("defers at most MAX_DEFERRED_CALLS calls per step and writes the calls past them at once", async () => {
      const { journal: j, seq } = await journal(true, { deferDeterministic: true });
      for (let n = 1; n <= MAX_DEFERRED_CALLS + 3; n++)
        await j.record({
          seq: n,
          tool: "echo",
          argsJson: "{}",
          occurrence: n,
          ms: 0,
          status: "succeeded",
          output: n,
          deterministic: true,
        });
      assert.deepEqual(
        (await b.store.listToolCalls("run_j", seq)).map((r) => r.seq),
        [MAX_DEFERRED_CALLS + 1, MAX_DEFERRED_CALLS + 2, MAX_DEFERRED_CALLS + 3],
      );
      assert.equal(j.takeDeferred().length, MAX_DEFERRED_CALLS);
    });

    it("keeps only the latest snapshot of a step; a small one inside its pointer, no blob", async () => {
      const { journal: j, seq } = await journal();
      assert.equal(await j.latestSnapshot(), undefined);
      await j.saveSnapshot({ seq: 1, engine: "monty", data: Buffer.from("first") });
      await j.saveSnapshot({ seq: 2, engine: "monty", data: Buffer.from("second") });
      const latest = await j.latestSnapshot();
      assert.equal(latest?.seq, 2);
      assert.equal(Buffer.from(latest.data).toString(), "second");
      const pointer = (await b.store.getCheckpoint("run_j", snapshotCheckpointKey(seq)))?.value as {
        inline?: string;
      };
      assert.equal(Buffer.from(pointer.inline!, "base64").toString(), "second");
    });

    it("puts a large snapshot in the blob store, refused once its bytes no longer match its address", async () => {
      const { journal: j } = await journal();
      const big = Buffer.alloc(INLINE_SNAPSHOT_BYTES + 1, 7);
      await j.saveSnapshot({ seq: 3, engine: "monty", data: big });
      const back = await j.latestSnapshot();
      assert.equal(back?.seq, 3);
      assert.ok(Buffer.from(back.data).equals(big));
      if (b.tamper) {
        b.tamper((await b.blobs.put(big)).sha256);
        assert.equal(await j.latestSnapshot(), undefined, "tampered bytes are not handed to an interpreter");
      }
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
        .record({
          seq: 1,
          tool: "echo",
          argsJson: "{}",
          occurrence: 1,
          status: "succeeded",
          output: 1,
          ms: 0,
        })
        .then(() => order.push("record"));
      await Promise.all([saving, recording]);
      assert.deepEqual(order, ["snapshot", "record"]);
      assert.equal((await b.store.listToolCalls("run_j", seq)).length, 1);
      assert.equal((await j.latestSnapshot())?.seq, 1);
    });
  });
}

describe("the snapshot checkpoint key", () => {
  it("is one no API caller can name", () => {
    assert.equal(Value.Check(StepKeySchema, snapshotCheckpointKey(1)), false);
  });
});
