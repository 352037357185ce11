// The storage-fault suite every Store implementation registers with a way to break its storage (fill the
// disk, mount it read-only, stop the server): every write rejects with StorageUnavailableError and writes
// nothing, reads answer or reject the same way, the health check says why, and all works again after.
import assert from "node:assert/strict";
import type { TestApi } from "@mend/sandboxes/testing";
import type { Store } from "../store.ts";
import { StorageUnavailableError } from "../store-errors.ts";
import { rejection } from "./conformance-kit.ts";
import { prepareWrites, STORE_WRITES } from "./store-writes.ts";

/** How a backend's storage is broken and mended for real in a test. */
export interface FaultHarness {
  /** A fresh store whose storage `breakStorage` can break. */
  open: () => Promise<{ store: Store; destroy: () => Promise<void> }>;
  breakStorage: () => Promise<void>;
  restoreStorage: () => Promise<void>;
  /** What the error message says about the fault (e.g. /disk is full/). */
  reason: RegExp;
}

const isUnavailable = (e: unknown): e is StorageUnavailableError => e instanceof StorageUnavailableError;

/**
 * Registers the fault suite. `skip` (a reason) registers it as skipped, visibly.
 * @example runStoreFaultSuite(t, "sqlite on a full tmpfs", tmpfsHarness, isRoot ? undefined : "needs root")
 */
export function runStoreFaultSuite(t: TestApi, name: string, harness: FaultHarness, skip?: string): void {
  t.describe(`store storage faults: ${name}`, { skip }, () => {
    let store: Store;
    let destroy: () => Promise<void>;
    t.before(async () => {
      ({ store, destroy } = await harness.open());
      await prepareWrites(store);
      await harness.breakStorage();
    });
    t.after(async () => {
      await harness.restoreStorage();
      await store.close();
      await destroy();
    });

    t.it("fails the health check with the reason", async () => {
      const e = await rejection(store.ping());
      assert.ok(isUnavailable(e), String(e));
      assert.match((e as Error).message, harness.reason);
    });

    for (const w of STORE_WRITES)
      t.it(`rejects ${w.name} with StorageUnavailableError`, async () => {
        const e = await rejection(w.write(store));
        assert.ok(isUnavailable(e), `${w.name}: ${String(e)}`);
        assert.ok(isUnavailable(e) && e.retryAfterS > 0);
      });

    t.it("answers reads or rejects them with StorageUnavailableError, never another error", async () => {
      for (const read of [
        () => store.getRunById("run_w"),
        () => store.listSteps("run_w"),
        () => store.listApiKeys(),
      ])
        await read().catch((e: unknown) => assert.ok(isUnavailable(e), String(e)));
    });

    t.it("wrote nothing of the failed writes, and takes every write once the storage is back", async () => {
      await harness.restoreStorage();
      await store.ping();
      for (const w of STORE_WRITES) await w.unchanged(store);
      for (const w of STORE_WRITES) await w.write(store);
      assert.equal((await store.getRunById("run_w"))!.status, "succeeded");
      assert.ok(await store.getRunById("run_new"));
    });
  });
}
