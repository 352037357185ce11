// Encrypts tool credentials at rest (AES-256-GCM) with a key from MEND_SECRET_KEY or a keyring file
// (MEND_SECRET_KEY_FILE, default <dataDir>/secret.key): the first key seals, every key opens.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmod, link, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative } from "node:path";
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
  /** MEND_SECRET_KEY_FILE, when set; else `<dataDir>/secret.key`. */
  keyFile?: string | undefined;
  log: Logger;
}

/** Where the keyring lives for these options (MEND_SECRET_KEY_FILE or the data dir's secret.key). */
export function secretKeyPath(opts: { dataDir: string; keyFile?: string | undefined }): string {
  return opts.keyFile ?? join(opts.dataDir, "secret.key");
}

/**
 * Logs the start-up warning when the key file sits inside the data dir: one backup of the data dir would
 * hold both the sealed credentials and the key that opens them.
 * @example warnIfKeyInDataDir({ dataDir, keyFile: undefined, envKey: undefined }, log)
 */
export function warnIfKeyInDataDir(
  opts: { dataDir: string; keyFile?: string | undefined; envKey?: string | undefined },
  log: Logger,
): boolean {
  if (opts.envKey) return false;
  const file = secretKeyPath(opts);
  const rel = relative(opts.dataDir, file);
  if (rel.startsWith("..") || isAbsolute(rel)) return false;
  log.warn(
    { file, dataDir: opts.dataDir },
    "the secret key of tool credentials sits in the data dir: a backup of the data dir holds both the credentials and their key; move it out and set MEND_SECRET_KEY_FILE (or MEND_SECRET_KEY)",
  );
  return true;
}

/**
 * Parses a keyring: one 32-byte key per line (hex or base64), `#` comments; the first key is current.
 * @example parseKeyring(`${a}\n${b}\n`, "secret.key").length // 2
 */
export function parseKeyring(text: string, where: string): Buffer[] {
  const lines = text
    .split("\n")
    .map((l) => l.replace(/#.*$/, "").trim())
    .filter((l) => l !== "");
  if (lines.length === 0) throw new SecretKeyError(`${where}: no key in the file`);
  return lines.map((l, i) => parseSecretKey(l, lines.length > 1 ? `${where} (key ${i + 1})` : where));
}

/**
 * Replaces the keyring file atomically (temporary file, then rename), mode 0600.
 * @example await writeKeyring("/etc/mend/secret.key", [newKey, oldKey])
 */
export async function writeKeyring(file: string, keys: readonly Buffer[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  const text = `# mend secret keyring: the first key seals, every key opens\n${keys.map((k) => k.toString("base64")).join("\n")}\n`;
  await writeFile(tmp, text, { mode: 0o600, flag: "wx" });
  try {
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Seals and opens small secrets. The keyring is loaded (or a key generated into the key file, mode 0600)
 * on first use and re-read whenever the file changes, so a running service follows `mend keys
 * rotate-secret`; `aad` binds a ciphertext to its owner so it cannot be moved to another record.
 * @example const box = new SecretBox({ dataDir, log }); const c = await box.seal("{}", "local/tool"); await box.open(c, "local/tool")
 */
export class SecretBox {
  readonly #opts: SecretBoxOptions;
  #keys: Promise<Buffer[]> | null = null;
  /** Identity of the file the keys were read from (inode, size, mtime): a change means re-read. */
  #stamp = "";

  constructor(opts: SecretBoxOptions) {
    this.#opts = opts;
  }

  async seal(plaintext: string, aad: string): Promise<string> {
    const [key] = await this.#loadKeys();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key!, iv);
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
  }

  /** Throws SecretKeyError when the ciphertext was sealed with no key of the keyring, or for another owner. */
  async open(sealed: string, aad: string): Promise<string> {
    const keys = await this.#loadKeys();
    const opened = openWith(keys, sealed, aad);
    if (opened !== null) return opened;
    throw new SecretKeyError(
      "a stored secret cannot be decrypted: the secret key (MEND_SECRET_KEY, or the key file) changed since it was stored; register the tool again",
    );
  }

  /** Whether `sealed` opens with the current (first) key: rotation re-seals those that do not. */
  async isCurrent(sealed: string, aad: string): Promise<boolean> {
    const [key] = await this.#loadKeys();
    return openWith([key!], sealed, aad) !== null;
  }

  async #loadKeys(): Promise<Buffer[]> {
    if (!this.#opts.envKey && this.#keys) {
      const st = await stat(secretKeyPath(this.#opts)).catch(() => null);
      const stamp = st ? `${st.ino}:${st.size}:${st.mtimeMs}` : "";
      if (stamp !== this.#stamp) this.#keys = null;
    }
    this.#keys ??= this.#readOrCreate().catch((e: unknown) => {
      this.#keys = null;
      throw e;
    });
    return this.#keys;
  }

  async #readOrCreate(): Promise<Buffer[]> {
    const { envKey, dataDir, log } = this.#opts;
    if (envKey) return [parseSecretKey(envKey, "MEND_SECRET_KEY")];
    const file = secretKeyPath(this.#opts);
    const existing = await this.#readKeyFile(file);
    if (existing) return existing;
    await mkdir(dirname(file), { recursive: true });
    // Written whole to a temporary name, then linked into place: a concurrent reader never sees half a key.
    const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    await writeFile(tmp, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    try {
      await link(tmp, file);
      log.warn(
        { file, dataDir },
        "generated a secret key for tool credentials; back it up apart from the data, or set MEND_SECRET_KEY_FILE or MEND_SECRET_KEY instead",
      );
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    } finally {
      await rm(tmp, { force: true });
    }
    const created = await this.#readKeyFile(file);
    if (!created) throw new SecretKeyError(`${file} vanished while it was being created`);
    return created;
  }

  async #readKeyFile(file: string): Promise<Buffer[] | null> {
    // Stat first: a file replaced between the two calls leaves an old stamp, so the next use re-reads.
    let st;
    let text: string;
    try {
      st = await stat(file);
      text = await readFile(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
    if ((st.mode & 0o077) !== 0) await chmod(file, 0o600);
    this.#stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    return parseKeyring(text, file);
  }
}

function openWith(keys: readonly Buffer[], sealed: string, aad: string): string | null {
  const [version, b64] = sealed.split(":");
  if (version !== VERSION || !b64) throw new SecretKeyError("stored secret has an unknown format");
  const raw = Buffer.from(b64, "base64");
  for (const key of keys) {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      /* another key of the ring, or none */
    }
  }
  return null;
}
