// Real storage faults under the SQLite store: a tmpfs of our own filled to the last byte, and mounted read-only.
import * as t from "node:test";
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { SqliteStore } from "./sqlite-store.ts";
import { FileBlobStore } from "../file-blob-store.ts";
import { StorageUnavailableError } from "../store-errors.ts";
import { runStoreFaultSuite } from "../testing/store-fault-suite.ts";
import { STORE_WRITES } from "../testing/store-writes.ts";
import { rejection } from "../testing/conformance-kit.ts";
import { mountTmpfs } from "../../../../test/support/tmpfs.ts";

const full = mountTmpfs(8);
const skip = full.tmpfs ? undefined : full.reason;
if (skip) console.log(`# skipping the SQLite storage-fault suites: ${skip}`);
after(() => full.tmpfs?.unmount());

runStoreFaultSuite(
  t,
  "sqlite on a full disk",
  {
    async open() {
      return {
        store: SqliteStore.open(join(full.tmpfs!.dir, "mend.db"), { owner: true }),
        destroy: async () => {},
      };
    },
    breakStorage: async () => full.tmpfs!.fill(),
    restoreStorage: async () => full.tmpfs!.free(),
    reason: /disk is full/,
  },
  skip,
);

describe("file blobs on a full disk", { skip }, () => {
  it("refuse a new blob with StorageUnavailableError, leave no partial file, and take it once space is back", async () => {
    const blobs = new FileBlobStore(join(full.tmpfs!.dir, "blobs"));
    full.tmpfs!.fill();
    const content = Buffer.alloc(64 * 1024, 9);
    try {
      const e = await rejection(blobs.put(content));
      assert.ok(e instanceof StorageUnavailableError, String(e));
      assert.match(e.message, /disk is full/);
    } finally {
      full.tmpfs!.free();
    }
    const { sha256 } = await blobs.put(content);
    assert.deepEqual(await blobs.get(sha256), content);
  });
});

/** Writes the journal in a child process that is then SIGKILLed: -wal and -shm stay, as after a crash. */
async function crashAfterWriting(path: string): Promise<void> {
  const code = `
    import { SqliteStore } from ${JSON.stringify(new URL("./sqlite-store.ts", import.meta.url).href)};
    import { prepareWrites } from ${JSON.stringify(new URL("../testing/store-writes.ts", import.meta.url).href)};
    const s = SqliteStore.open(${JSON.stringify(path)}, { owner: true });
    await prepareWrites(s);
    process.kill(process.pid, "SIGKILL");`;
  const p = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: "inherit" });
  const signal = await new Promise((resolve) => p.on("exit", (_c, sig) => resolve(sig)));
  assert.equal(signal, "SIGKILL");
}

const ro = mountTmpfs(8);
const roSkip = ro.tmpfs ? undefined : ro.reason;
after(() => ro.tmpfs?.unmount());

describe("SqliteStore on a read-only data dir", { skip: roSkip }, () => {
  it("reads the journal, refuses every write with StorageUnavailableError, and writes once the dir is writable", async () => {
    const path = join(ro.tmpfs!.dir, "mend.db");
    await crashAfterWriting(path);
    ro.tmpfs!.remount("ro");
    let store: SqliteStore;
    try {
      store = SqliteStore.open(path, { owner: true });
      assert.equal((await store.getStep("run_w", "s"))?.status, "started", "the journal is readable");
      const health = await rejection(store.ping());
      assert.ok(health instanceof StorageUnavailableError);
      assert.match(health.message, /read-only|not writable/);
      for (const w of STORE_WRITES) {
        const e = await rejection(w.write(store));
        assert.ok(e instanceof StorageUnavailableError, `${w.name}: ${String(e)}`);
      }
      for (const w of STORE_WRITES) await w.unchanged(store);
    } finally {
      ro.tmpfs!.remount("rw");
    }
    try {
      await store.ping();
      for (const w of STORE_WRITES) await w.write(store);
      assert.equal((await store.getRunById("run_w"))?.status, "succeeded");
      assert.throws(
        () => SqliteStore.open(join(ro.tmpfs!.dir, "other.db"), { owner: true }),
        { name: "DataDirInUseError" },
        "it took the owner lock once the dir was writable",
      );
    } finally {
      await store.close();
    }
  });
});
