// The API key's text form and its salted hash: `mend_<id>_<secret>`, looked up by id, compared in constant time.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Prefix of every key, so leaked keys are recognisable by secret scanners. */
export const KEY_PREFIX = "mend_";

const KEY_RE = /^mend_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A freshly minted key: the record fields to store, and the text shown once to its owner. */
export interface MintedKey {
  id: string;
  salt: string;
  hash: string;
  /** The whole key; never stored. */
  token: string;
}

/** HMAC-SHA256 of the secret keyed by the per-key salt, hex. The secret has 256 random bits, so one round suffices. */
export function hashSecret(secret: string, salt: string): string {
  return createHmac("sha256", Buffer.from(salt, "hex")).update(secret).digest("hex");
}

/**
 * Mints a new key: 64-bit id (public, for lookup and revocation), 256-bit secret, 128-bit salt.
 * @example const { id, token } = mintKey(); // token = "mend_3f9c0a1b2c3d4e5f_…"
 */
export function mintKey(): MintedKey {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const salt = randomBytes(16).toString("hex");
  return { id, salt, hash: hashSecret(secret, salt), token: `${KEY_PREFIX}${id}_${secret}` };
}

/**
 * Splits a key into id and secret; null when it does not have the key's shape.
 * @example parseKey("mend_3f9c0a1b2c3d4e5f_" + "x".repeat(43))?.id // "3f9c0a1b2c3d4e5f"
 */
export function parseKey(token: string): { id: string; secret: string } | null {
  const m = KEY_RE.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

const DUMMY_SALT = randomBytes(16).toString("hex");
const DUMMY_HASH = hashSecret(randomBytes(32).toString("base64url"), DUMMY_SALT);

/**
 * Whether `secret` matches a stored salt and hash, in time independent of where they differ.
 * With no record, compares against a dummy so unknown ids take as long as wrong secrets.
 * @example secretMatches(secret, record) // true or false
 */
export function secretMatches(secret: string, stored: { salt: string; hash: string } | undefined): boolean {
  const salt = stored?.salt ?? DUMMY_SALT;
  const expected = Buffer.from(stored?.hash ?? DUMMY_HASH, "hex");
  const actual = Buffer.from(hashSecret(secret, salt), "hex");
  return expected.length === actual.length && timingSafeEqual(expected, actual) && stored !== undefined;
}
