// Content-addressed blobs in a PostgreSQL table, beside the PostgreSQL store: any replica serves any artifact.
import { createHash } from "node:crypto";
import { SHA256_HEX, type BlobStore } from "../blob-store.ts";
import type { Query } from "./pg-database.ts";

/**
 * Blobs as rows of blob_contents (sha256 → bytea). One statement per put: all of it or nothing.
 * @example const blobs = (await PostgresStore.open(url)).blobStore(); await blobs.put("hi")
 */
export class PostgresBlobStore implements BlobStore {
  readonly #q: Query;

  constructor(q: Query) {
    this.#q = q;
  }

  async put(content: Buffer | string): Promise<{ sha256: string; size: number }> {
    const buf = typeof content === "string" ? Buffer.from(content) : content;
    const sha256 = createHash("sha256").update(buf).digest("hex");
    await this.#q(
      `INSERT INTO blob_contents (sha256, content, size_bytes, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sha256) DO NOTHING`,
      [sha256, buf, buf.length, Date.now()],
    );
    return { sha256, size: buf.length };
  }

  async get(sha256: string): Promise<Buffer | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    const r = await this.#q("SELECT content FROM blob_contents WHERE sha256 = $1", [sha256]);
    const content = r.rows[0]?.content;
    return content instanceof Buffer ? content : null;
  }

  async has(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    return (await this.#q("SELECT 1 AS x FROM blob_contents WHERE sha256 = $1", [sha256])).rowCount > 0;
  }
}
