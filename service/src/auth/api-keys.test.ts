import { describe, it, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { ApiKeyError, ApiKeys } from "./api-keys.ts";
import { hashSecret, parseKey } from "./api-key-token.ts";

let dir: string;
let store: SqliteStore;
let keys: ApiKeys;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mend-keys-"));
  store = SqliteStore.open(join(dir, "mend.db"));
  keys = new ApiKeys(store);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ApiKeys", () => {
  it("stores only a salted hash: neither the key nor its secret appears in the store", async () => {
    const { key, token } = await keys.create({ tenant: "acme", policy: "research" });
    const secret = parseKey(token)!.secret;
    const [record] = await store.listApiKeys();
    assert.equal(record!.id, key.id);
    assert.equal(record!.hash, hashSecret(secret, record!.salt));
    assert.doesNotMatch(JSON.stringify(record), new RegExp(secret));
    assert.match(record!.salt, /^[0-9a-f]{32}$/);
    const other = await keys.create({ tenant: "acme", policy: "research" });
    assert.notEqual((await store.listApiKeys())[1]!.salt, record!.salt, "each key has its own salt");
    assert.notEqual(other.token, token);
  });

  it("lists keys without their secret or hash", async () => {
    await keys.create({ tenant: "acme", policy: "research", now: 1000 });
    const [k] = await keys.list();
    assert.deepEqual(Object.keys(k!).sort(), ["createdAt", "id", "policy", "revokedAt", "tenant"]);
    assert.equal(k!.createdAt, 1000);
  });

  it("treats callers as anonymous while no active key exists, even after every key is revoked", async () => {
    assert.deepEqual(await keys.identify(undefined), { kind: "anonymous" });
    const { key } = await keys.create({ tenant: "acme", policy: "default" });
    assert.equal((await keys.identify(undefined)).kind, "refused");
    assert.equal(await keys.revoke(key.id), true);
    assert.equal(await keys.anyActive(), false);
    assert.deepEqual(await keys.identify(undefined), { kind: "anonymous" });
  });

  it("identifies the tenant and policy of a valid key", async () => {
    const { key, token } = await keys.create({ tenant: "acme", policy: "research" });
    const who = await keys.identify(`Bearer ${token}`);
    assert.deepEqual(who, { kind: "key", key });
    assert.equal((await keys.identify(`bearer  ${token}`)).kind, "key", "the scheme is case-insensitive");
  });

  it("refuses missing, malformed, wrong and revoked keys, each with its reason", async () => {
    const { key, token } = await keys.create({ tenant: "acme", policy: "research" });
    const reason = async (h: string | undefined) => {
      const r = await keys.identify(h);
      return r.kind === "refused" ? r.reason : r.kind;
    };
    assert.equal(await reason(undefined), "missing");
    assert.equal(await reason(token), "malformed", "no Bearer scheme");
    assert.equal(await reason("Basic dXNlcjpwYXNz"), "malformed");
    assert.equal(await reason("Bearer not-a-mend-key"), "malformed");
    const wrongSecret = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    assert.equal(await reason(`Bearer ${wrongSecret}`), "invalid");
    const unknownId = token.replace(key.id, "0000000000000000");
    assert.equal(await reason(`Bearer ${unknownId}`), "invalid");
    await keys.revoke(key.id);
    await keys.create({ tenant: "acme", policy: "research" });
    assert.equal(await reason(`Bearer ${token}`), "revoked");
  });

  it("refuses a tenant name that is not a plain identifier, and revoking an unknown key", async () => {
    await assert.rejects(keys.create({ tenant: "acme corp", policy: "default" }), ApiKeyError);
    await assert.rejects(keys.create({ tenant: "", policy: "default" }), ApiKeyError);
    assert.equal(await keys.revoke("0000000000000000"), false);
  });

  it("checks the store once per turn of the event loop for the requests of that turn", async () => {
    const { token } = await keys.create({ tenant: "acme", policy: "research" });
    await keys.identify(`Bearer ${token}`); // reads the records once
    await new Promise((resolve) => setImmediate(resolve));
    const before = store.counters().statements;
    const who = await Promise.all(Array.from({ length: 8 }, () => keys.identify(`Bearer ${token}`)));
    assert.ok(who.every((w) => w.kind === "key"));
    assert.equal(store.counters().statements - before, 1, "one version check for eight requests");
    await new Promise((resolve) => setImmediate(resolve));
    await keys.identify(`Bearer ${token}`);
    assert.equal(store.counters().statements - before, 2, "the next turn checks again");
  });

  it("refuses a key revoked by another connection (the CLI) from the next turn on", async () => {
    const { key, token } = await keys.create({ tenant: "acme", policy: "research" });
    assert.equal((await keys.identify(`Bearer ${token}`)).kind, "key");
    const cli = SqliteStore.open(join(dir, "mend.db"));
    try {
      assert.equal(await new ApiKeys(cli).revoke(key.id), true);
    } finally {
      await cli.close();
    }
    await new Promise((resolve) => setImmediate(resolve));
    const who = await keys.identify(`Bearer ${token}`);
    assert.equal(who.kind === "refused" && who.reason, "revoked");
  });

  it("sees its own revocation at once, even within the turn that checked before it", async () => {
    const { key, token } = await keys.create({ tenant: "acme", policy: "research" });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await keys.identify(`Bearer ${token}`)).kind, "key");
    await keys.revoke(key.id);
    const who = await keys.identify(`Bearer ${token}`);
    assert.equal(who.kind === "refused" && who.reason, "revoked");
  });
});
