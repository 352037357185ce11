// The blob store interface: content-addressed bytes (sha256) beside the Store — files, or a PostgreSQL table.

/**
 * Content-addressed blobs. Identical content is stored once; a reader never sees a partial blob; an
 * address that is not 64 lowercase hex digits is simply absent. A storage fault rejects with
 * StorageUnavailableError (store-errors.ts) and leaves no partial blob. Contract pinned by
 * store/testing/blob-store-conformance.ts.
 * @example const { sha256 } = await blobs.put(Buffer.from("hi")); (await blobs.get(sha256))?.toString() // "hi"
 */
export interface BlobStore {
  /** Stores bytes (durably, before resolving) and returns their address and size. */
  put(content: Buffer | string): Promise<{ sha256: string; size: number }>;
  get(sha256: string): Promise<Buffer | null>;
  has(sha256: string): Promise<boolean>;
}

/** The form of a blob address. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
