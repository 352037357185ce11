// Content-addressed blob files (sha256) under the data dir, written atomically (temp file + rename).
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Local-folder blob store. Identical content is stored once; a reader never sees a partial file.
 * @example const { sha256 } = await blobs.put(Buffer.from("hi")); await blobs.get(sha256)
 */
export class BlobStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  #path(sha256: string): string {
    return join(this.#root, sha256.slice(0, 2), sha256);
  }

  /** Stores bytes and returns their address. fsync before rename so a crash leaves either nothing or the whole file. */
  async put(content: Buffer | string): Promise<{ sha256: string; size: number }> {
    const buf = typeof content === "string" ? Buffer.from(content) : content;
    const sha256 = createHash("sha256").update(buf).digest("hex");
    const final = this.#path(sha256);
    if (await this.has(sha256)) return { sha256, size: buf.length };
    await mkdir(join(this.#root, sha256.slice(0, 2)), { recursive: true });
    const tmp = `${final}.${randomBytes(6).toString("hex")}.tmp`;
    const fh = await open(tmp, "wx");
    try {
      await fh.writeFile(buf);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return { sha256, size: buf.length };
  }

  async get(sha256: string): Promise<Buffer | null> {
    if (!SHA256.test(sha256)) return null;
    try {
      return await readFile(this.#path(sha256));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  async has(sha256: string): Promise<boolean> {
    if (!SHA256.test(sha256)) return false;
    try {
      await stat(this.#path(sha256));
      return true;
    } catch {
      return false;
    }
  }
}
