// The BlobStore conformance suite: what files and PostgreSQL rows both promise (content addressing,
// identical content stored once, exact bytes back, foreign addresses absent).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { TestApi } from "@mend/sandboxes/testing";
import type { BlobStore } from "../blob-store.ts";

/** A fresh, empty blob store and how to dispose of it. */
export type BlobStoreFactory = () => Promise<{ blobs: BlobStore; destroy: () => Promise<void> }>;

/**
 * Registers the blob-store contract for one implementation.
 * @example runBlobStoreConformance(t, "files", async () => ({ blobs: new FileBlobStore(dir), destroy }))
 */
export function runBlobStoreConformance(t: TestApi, name: string, factory: BlobStoreFactory): void {
  const test = (title: string, fn: (b: BlobStore) => Promise<void>): void => {
    t.it(title, async () => {
      const { blobs, destroy } = await factory();
      try {
        await fn(blobs);
      } finally {
        await destroy();
      }
    });
  };

  t.describe(`blob store conformance: ${name}`, () => {
    test("stores content under its sha256 and gives the exact bytes back", async (b) => {
      const bytes = Buffer.from([0, 255, 1, 128, 10, 13]);
      const { sha256, size } = await b.put(bytes);
      assert.equal(sha256, createHash("sha256").update(bytes).digest("hex"));
      assert.equal(size, 6);
      assert.deepEqual(await b.get(sha256), bytes);
      assert.equal(await b.has(sha256), true);
      const text = await b.put("héllo");
      assert.equal(text.size, Buffer.byteLength("héllo"));
      assert.equal((await b.get(text.sha256))?.toString("utf8"), "héllo");
    });

    test("stores identical content once, even when written concurrently", async (b) => {
      const buf = Buffer.alloc(256 * 1024, 7);
      const results = await Promise.all(Array.from({ length: 8 }, () => b.put(buf)));
      assert.equal(new Set(results.map((r) => r.sha256)).size, 1);
      assert.deepEqual(await b.get(results[0]!.sha256), buf);
    });

    test("keeps an empty blob and a large one", async (b) => {
      const empty = await b.put(Buffer.alloc(0));
      assert.deepEqual(await b.get(empty.sha256), Buffer.alloc(0));
      const big = Buffer.alloc(4 * 1024 * 1024, 3);
      const put = await b.put(big);
      assert.equal((await b.get(put.sha256))?.length, big.length);
    });

    test("answers an unknown or malformed address as absent", async (b) => {
      assert.equal(await b.get("0".repeat(64)), null);
      assert.equal(await b.has("0".repeat(64)), false);
      for (const bad of ["../../etc/passwd", "abc", "A".repeat(64), `${"a".repeat(64)}/x`]) {
        assert.equal(await b.get(bad), null, bad);
        assert.equal(await b.has(bad), false, bad);
      }
    });
  });
}
