// Stores a tenant's blob under its blob quota: the quota is checked before the bytes are written, so a
// refused blob leaves no content behind, and again atomically when the reference is added.
import { createHash } from "node:crypto";
import type { BlobStore } from "./blob-store.ts";
import type { Store } from "./store.ts";
import { QuotaExceededError } from "./store-errors.ts";

/**
 * Puts `content` in the blob store and references it for `tenant`. A blob the tenant already references
 * costs nothing; a new one that would pass the tenant's blob quota throws QuotaExceededError before any
 * byte is written. Concurrent puts of one tenant may each pass the first check; the reference's own check
 * (inside its write) still refuses the ones past the quota, whose content may then stay unreferenced.
 * @example const { sha256, size } = await putTenantBlob(store, blobs, "acme", Buffer.from("hi"))
 */
export async function putTenantBlob(
  store: Store,
  blobs: BlobStore,
  tenant: string,
  content: Buffer | string,
): Promise<{ sha256: string; size: number }> {
  const bytes = typeof content === "string" ? Buffer.from(content) : content;
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (!(await store.hasBlobRef(tenant, sha256))) {
    const u = await store.usage(tenant);
    if (u.quota.blobBytes !== null && u.blobBytes + bytes.length > u.quota.blobBytes)
      throw new QuotaExceededError(
        "blobBytes",
        `the tenant's blob quota of ${u.quota.blobBytes} bytes is used up (${u.blobBytes} stored, ${bytes.length} more asked)`,
      );
  }
  const put = await blobs.put(bytes);
  await store.addBlobRef(tenant, put.sha256, put.size);
  return put;
}
