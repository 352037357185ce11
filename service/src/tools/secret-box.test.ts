import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../log/logger.ts";
import { Writable } from "node:stream";
import {
  SecretBox,
  SecretKeyError,
  parseKeyring,
  parseSecretKey,
  warnIfKeyInDataDir,
  writeKeyring,
} from "./secret-box.ts";

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

const made: string[] = [];
const temp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

test("a keyring file seals with its first key and opens with every key; MEND_SECRET_KEY_FILE puts it anywhere", async () => {
  const dataDir = temp("mend-secret-");
  const keyFile = join(temp("mend-keys-"), "mend.keyring");
  const [k1, k2] = [randomBytes(32), randomBytes(32)];
  await writeKeyring(keyFile, [k1]);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const before = await new SecretBox({ dataDir, keyFile, log }).seal("old", "t");
  await writeKeyring(keyFile, [k2, k1]);
  const box = new SecretBox({ dataDir, keyFile, log });
  assert.equal(await box.open(before, "t"), "old", "the second key still opens");
  const after = await box.seal("new", "t");
  assert.equal(await new SecretBox({ dataDir, log, envKey: k2.toString("hex") }).open(after, "t"), "new");
  await assert.rejects(new SecretBox({ dataDir, log, envKey: k1.toString("hex") }).open(after, "t"));
  assert.equal(await box.isCurrent(after, "t"), true);
  assert.equal(await box.isCurrent(before, "t"), false);
  assert.throws(() => parseKeyring("# nothing\n", "f"), /no key/);
});

test("a box that already loaded its keys follows the file when it is replaced (a running service after rotation)", async () => {
  const dataDir = temp("mend-secret-");
  const keyFile = join(dataDir, "ring");
  const [k1, k2] = [randomBytes(32), randomBytes(32)];
  await writeKeyring(keyFile, [k1]);
  const running = new SecretBox({ dataDir, keyFile, log });
  const sealedOld = await running.seal("x", "t");
  await writeKeyring(keyFile, [k2]);
  const sealedNew = await new SecretBox({ dataDir, keyFile, log }).seal("y", "t");
  assert.equal(await running.open(sealedNew, "t"), "y");
  await assert.rejects(running.open(sealedOld, "t"), /cannot be decrypted/);
  assert.equal(await running.isCurrent(await running.seal("z", "t"), "t"), true);
});

test("the start-up warning is logged when the key file sits in the data dir, and not otherwise", () => {
  let text = "";
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  const warnLog = createLogger("warn", sink);
  const dataDir = temp("mend-secret-");
  assert.equal(warnIfKeyInDataDir({ dataDir }, warnLog), true);
  assert.match(text, /sits in the data dir/);
  assert.match(text, /MEND_SECRET_KEY_FILE/);
  assert.equal(warnIfKeyInDataDir({ dataDir, keyFile: join(dataDir, "sub", "k") }, warnLog), true);
  text = "";
  assert.equal(warnIfKeyInDataDir({ dataDir, keyFile: join(tmpdir(), "elsewhere.key") }, warnLog), false);
  assert.equal(
    warnIfKeyInDataDir({ dataDir: `${dataDir}-x`, keyFile: join(`${dataDir}-xy`, "k") }, warnLog),
    false,
  );
  assert.equal(warnIfKeyInDataDir({ dataDir, envKey: "k" }, warnLog), false);
  assert.equal(text, "");
});
