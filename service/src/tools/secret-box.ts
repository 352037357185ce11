// Encrypts tool credentials at rest (AES-256-GCM) with a key from MEND_SECRET_KEY or <dataDir>/secret.key.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmod, link, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log/logger.ts";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A secret key that cannot be used (bad MEND_SECRET_KEY or key file); the message says which and why. */
export class SecretKeyError extends Error {
  override name = "SecretKeyError";
}

/**
 * Decodes a 32-byte key written as 64 hex characters or as base64 (44 characters).
 * @example parseSecretKey(randomBytes(32).toString("hex")).length // 32
 */
export function parseSecretKey(text: string, where: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, "base64");
  if (key.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(t) && !/^[A-Za-z0-9+/_-]{43}=?$/.test(t))) {
    throw new SecretKeyError(
      `${where}: expected 32 bytes as 64 hex characters or base64, got ${t.length} characters`,
    );
  }
  return key;
}

export interface SecretBoxOptions {
  dataDir: string;
  /** MEND_SECRET_KEY, when set. */
  envKey?: string | undefined;
  log: Logger;
}

/**
 * Seals and opens small secrets. The key is loaded (or generated into <dataDir>/secret.key, mode 0600)
 * on first use; `aad` binds a ciphertext to its owner so it cannot be moved to another record.
 * @example const box = new SecretBox({ dataDir, log }); const c = await box.seal("{}", "local/tool"); await box.open(c, "local/tool")
 */
export class SecretBox {
  readonly #opts: SecretBoxOptions;
  #key: Promise<Buffer> | null = null;

  constructor(opts: SecretBoxOptions) {
    this.#opts = opts;
  }

  async seal(plaintext: string, aad: string): Promise<string> {
    const key = await this.#loadKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
  }

  /** Throws SecretKeyError when the ciphertext was sealed with another key or for another owner. */
  async open(sealed: string, aad: string): Promise<string> {
    const key = await this.#loadKey();
    const [version, b64] = sealed.split(":");
    if (version !== VERSION || !b64) throw new SecretKeyError("stored secret has an unknown format");
    const raw = Buffer.from(b64, "base64");
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      throw new SecretKeyError(
        "a stored secret cannot be decrypted: MEND_SECRET_KEY (or <dataDir>/secret.key) changed since it was stored; register the tool again",
      );
    }
  }

  #loadKey(): Promise<Buffer> {
    this.#key ??= this.#readOrCreate().catch((e: unknown) => {
      this.#key = null;
      throw e;
    });
    return this.#key;
  }

  async #readOrCreate(): Promise<Buffer> {
    const { envKey, dataDir, log } = this.#opts;
    if (envKey) return parseSecretKey(envKey, "MEND_SECRET_KEY");
    const file = join(dataDir, "secret.key");
    const existing = await readKeyFile(file);
    if (existing) return existing;
    await mkdir(dataDir, { recursive: true });
    // Written whole to a temporary name, then linked into place: a concurrent reader never sees half a key.
    const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    await writeFile(tmp, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    try {
      await link(tmp, file);
      log.warn(
        { file },
        "generated a secret key for tool credentials; back it up, or set MEND_SECRET_KEY instead",
      );
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    } finally {
      await rm(tmp, { force: true });
    }
    const created = await readKeyFile(file);
    if (!created) throw new SecretKeyError(`${file} vanished while it was being created`);
    return created;
  }
}

async function readKeyFile(file: string): Promise<Buffer | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  return parseSecretKey(text, file);
}
