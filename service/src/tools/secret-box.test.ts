import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../log/logger.ts";
import { SecretBox, SecretKeyError, parseSecretKey } from "./secret-box.ts";

const log = createLogger("silent");

test("a sealed secret opens with the same key and owner, and its text is not in the ciphertext", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "mend-secret-"));
  const box = new SecretBox({ dataDir, log });
  const sealed = await box.seal('{"authorization":"Bearer hunter2-hunter2"}', "local/crm");
  assert.doesNotMatch(sealed, /hunter2/);
  assert.equal(await box.open(sealed, "local/crm"), '{"authorization":"Bearer hunter2-hunter2"}');
  await assert.rejects(box.open(sealed, "other/crm"), SecretKeyError);
});

test("without MEND_SECRET_KEY a key is generated once into <dataDir>/secret.key with mode 0600", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "mend-secret-"));
  const [a, b] = [new SecretBox({ dataDir, log }), new SecretBox({ dataDir, log })];
  const [sa, sb] = await Promise.all([a.seal("x", "t"), b.seal("y", "t")]);
  assert.equal(statSync(join(dataDir, "secret.key")).mode & 0o777, 0o600);
  assert.equal(parseSecretKey(readFileSync(join(dataDir, "secret.key"), "utf8"), "file").length, 32);
  assert.equal(await new SecretBox({ dataDir, log }).open(sa, "t"), "x");
  assert.equal(await a.open(sb, "t"), "y");
});

test("MEND_SECRET_KEY is accepted as hex or base64, and another key cannot open the secret", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "mend-secret-"));
  const key = randomBytes(32);
  const hex = new SecretBox({ dataDir, log, envKey: key.toString("hex") });
  const b64 = new SecretBox({ dataDir, log, envKey: key.toString("base64") });
  assert.equal(await b64.open(await hex.seal("v", "t"), "t"), "v");
  const other = new SecretBox({ dataDir, log, envKey: randomBytes(32).toString("hex") });
  await assert.rejects(other.open(await hex.seal("v", "t"), "t"), /cannot be decrypted/);
  await assert.rejects(
    new SecretBox({ dataDir, log, envKey: "too-short" }).seal("v", "t"),
    /MEND_SECRET_KEY: expected 32 bytes/,
  );
});
