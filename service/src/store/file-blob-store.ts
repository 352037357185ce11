// Content-addressed blob files (sha256) under the data dir, written atomically (temp file + rename).
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { SHA256_HEX, type BlobStore } from "./blob-store.ts";
import { StorageUnavailableError } from "./store-errors.ts";

/** errno codes that mean "the disk cannot take this now", not "this program is wrong". */
const STORAGE_ERRNO: Record<string, string> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exhausted",
  EROFS: "the file system is read-only",
  EIO: "disk I/O error",
  EACCES: "the blob folder is not writable",
  EPERM: "the blob folder is not writable",
};

function storageFault(e: unknown): never {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code ? STORAGE_ERRNO[code] : undefined;
  if (why) throw new StorageUnavailableError(`blob storage unavailable: ${why}`, { cause: e });
  throw e;
}

/**
 * Local-folder blob store (the embedded default). fsync before rename: a crash leaves nothing or the whole file.
 * @example const blobs = new FileBlobStore("./data/blobs"); const { sha256 } = await blobs.put("hi")
 */
export class FileBlobStore implements BlobStore {
  readonly #root: string;
  /** Fan-out folders known to exist: one mkdir per folder per process, not one per blob. */
  readonly #dirs = new Set<string>();

  constructor(root: string) {
    this.#root = root;
  }

  #path(sha256: string): string {
    return join(this.#root, sha256.slice(0, 2), sha256);
  }

  async put(content: Buffer | string): Promise<{ sha256: string; size: number }> {
    const buf = typeof content === "string" ? Buffer.from(content) : content;
    const sha256 = createHash("sha256").update(buf).digest("hex");
    const final = this.#path(sha256);
    if (await this.has(sha256)) return { sha256, size: buf.length };
    const tmp = `${final}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      const fh = await this.#create(tmp, sha256.slice(0, 2));
      try {
        await fh.writeFile(buf);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {});
      storageFault(e);
    }
    return { sha256, size: buf.length };
  }

  /** Opens a new temp file in its fan-out folder, making the folder first if it is new (or was removed). */
  async #create(tmp: string, dir: string): ReturnType<typeof open> {
    if (this.#dirs.has(dir)) {
      try {
        return await open(tmp, "wx");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        this.#dirs.delete(dir);
      }
    }
    await mkdir(join(this.#root, dir), { recursive: true });
    this.#dirs.add(dir);
    return open(tmp, "wx");
  }

  async get(sha256: string): Promise<Buffer | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    try {
      return await readFile(this.#path(sha256));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      storageFault(e);
    }
  }

  async has(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    try {
      await stat(this.#path(sha256));
      return true;
    } catch {
      return false;
    }
  }
}
