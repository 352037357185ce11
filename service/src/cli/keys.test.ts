import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keysCommand } from "./keys.ts";
import { openStore } from "../services/open-store.ts";
import { loadConfig } from "../config/config.ts";
import { createLogger } from "../log/logger.ts";
import { BUILTIN_TOOL_NAMES } from "../tools/builtin-tools.ts";
import { DestinationGuard } from "../tools/destination-guard.ts";
import { parseKeyring, SecretBox } from "../tools/secret-box.ts";
import { ToolRegistry } from "../tools/tool-registry.ts";

const POLICIES = new URL("../../../policies/", import.meta.url).pathname;

async function mend(args: string[], env: Record<string, string>) {
  let out = "";
  let err = "";
  const code = await keysCommand(args, env, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe("mend keys", () => {
  const env = { MEND_DATA_DIR: mkdtempSync(join(tmpdir(), "mend-cli-")), MEND_POLICIES_DIR: POLICIES };

  it("creates a key and prints it once, alone on the last line of stdout", async () => {
    const r = await mend(["create", "--tenant", "acme", "--policy", "research"], env);
    assert.equal(r.code, 0);
    const lines = r.out.trimEnd().split("\n");
    assert.match(lines.at(-1)!, /^mend_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.match(r.err, /tenant "acme" with policy "research"/);
    const listed = await mend(["list"], env);
    assert.doesNotMatch(listed.out, new RegExp(lines.at(-1)!.slice(22)), "list never shows the secret");
  });

  it("lists id, tenant, policy, created and revoked, as a table or JSON, and revokes by id", async () => {
    const created = await mend(["create", "--tenant", "globex"], env);
    const id = /^mend_([0-9a-f]{16})_/.exec(created.out.trim())![1]!;
    const table = await mend(["list"], env);
    assert.match(table.out, /^ID\s+TENANT\s+POLICY\s+CREATED\s+REVOKED/);
    assert.match(table.out, new RegExp(`${id}\\s+globex\\s+default\\s+\\d{4}-\\d\\d-\\d\\dT\\S+\\s+-`));
    assert.equal((await mend(["revoke", id], env)).out, `revoked ${id}\n`);
    const json = JSON.parse((await mend(["list", "--json"], env)).out) as {
      id: string;
      revokedAt: number | null;
    }[];
    assert.equal(typeof json.find((k) => k.id === id)?.revokedAt, "number");
    const again = await mend(["revoke", id], env);
    assert.equal(again.code, 1);
    assert.match(again.err, /no active API key/);
  });

  it("refuses an unknown policy, a missing tenant and unknown verbs without touching the store", async () => {
    const unknown = await mend(["create", "--tenant", "acme", "--policy", "nope"], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /no policy "nope".*known: data-analysis, default, research/);
    assert.equal((await mend(["create"], env)).code, 2);
    assert.equal((await mend(["frobnicate"], env)).code, 2);
    assert.equal((await mend(["create", "--tenant", "bad name"], env)).code, 2);
    assert.equal((await mend(["--help"], env)).code, 0);
  });

  it("usage: lists the bytes each tenant stores and its stored quotas, as a table or JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mend-cli-usage-"));
    const store = await openStore({ dataDir: dir, databaseUrl: undefined });
    try {
      await store.createRun({ id: "run_u1", tenant: "acme", mode: "client", goal: "héllo", implicit: false });
      await store.addBlobRef("globex", "b".repeat(64), 4096);
      await store.setQuota("acme", { journalBytes: 1000, blobBytes: null });
    } finally {
      await store.close();
    }
    const usageEnv = { MEND_DATA_DIR: dir, MEND_POLICIES_DIR: POLICIES };
    const table = await mend(["usage"], usageEnv);
    assert.equal(table.code, 0, table.err);
    const lines = table.out.trimEnd().split("\n");
    assert.match(
      lines[0]!,
      /^TENANT\s+JOURNAL_BYTES\s+JOURNAL_QUOTA\s+BLOB_BYTES\s+BLOB_QUOTA\s+CACHE_BYTES$/,
    );
    assert.match(lines[1]!, /^acme\s+6\s+1000\s+0\s+-\s+0$/);
    assert.match(lines[2]!, /^globex\s+0\s+-\s+4096\s+-\s+0$/);
    const json = JSON.parse((await mend(["usage", "--json", "--tenant", "globex"], usageEnv)).out) as unknown;
    assert.deepEqual(json, [
      {
        tenant: "globex",
        journalBytes: 0,
        blobBytes: 4096,
        cacheBytes: 0,
        quota: { journalBytes: null, blobBytes: null },
      },
    ]);
  });
});

describe("mend keys rotate-secret", () => {
  const made: string[] = [];
  const temp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    made.push(d);
    return d;
  };
  after(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });
  it("writes a new key, re-encrypts every stored credential with it, drops the old key; a running service keeps opening them", async () => {
    const dataDir = temp("mend-cli-rotate-");
    const keyFile = join(temp("mend-cli-keyring-"), "secret.key");
    const env = { MEND_DATA_DIR: dataDir, MEND_POLICIES_DIR: POLICIES, MEND_SECRET_KEY_FILE: keyFile };
    assert.equal((await mend(["create", "--tenant", "acme"], env)).code, 0);
    const config = loadConfig(env);
    const store = await openStore(config);
    const log = createLogger("silent");
    const destinations = new DestinationGuard({ allowLoopback: true });
    try {
      // The "running service": its box loaded the old key before the rotation.
      const registry = new ToolRegistry({
        store,
        secrets: new SecretBox({ dataDir, keyFile, log }),
        builtinNames: BUILTIN_TOOL_NAMES,
        configServers: [],
        allowStdio: false,
        destinations,
      });
      const body = (name: string) => ({
        name,
        description: "d",
        inputSchema: { type: "object" },
        endpoint: "http://127.0.0.1:9/x",
        headers: { authorization: `Bearer token-of-${name}` },
      });
      await registry.registerHttpTool("acme", body("crm.find"));
      await registry.registerHttpTool("local", body("crm.local"));
      await registry.registerHttpTool("acme", { ...body("plain.tool"), headers: {} });
      const oldKeys = parseKeyring(readFileSync(keyFile, "utf8"), keyFile);
      const sealedBefore = (await store.getTool("acme", "crm.find"))!.secret;

      const r = await mend(["rotate-secret"], env);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, "2\n");
      assert.match(r.err, /2 credential\(s\) re-encrypted, the old key dropped/);

      const newKeys = parseKeyring(readFileSync(keyFile, "utf8"), keyFile);
      assert.equal(newKeys.length, 1, "the old key is dropped");
      assert.notDeepEqual(newKeys[0], oldKeys[0]);
      const after = (await store.getTool("acme", "crm.find"))!;
      assert.notEqual(after.secret, sealedBefore);
      assert.deepEqual(await registry.headersOf(after), { authorization: "Bearer token-of-crm.find" });
      assert.deepEqual(await registry.headersOf((await store.getTool("local", "crm.local"))!), {
        authorization: "Bearer token-of-crm.local",
      });
      const withOld = new SecretBox({ dataDir, log, envKey: oldKeys[0]!.toString("hex") });
      await assert.rejects(withOld.open(after.secret!, "acme/crm.find"), /cannot be decrypted/);
    } finally {
      await destinations.close();
      await store.close();
    }
  });

  it("refuses to rotate a key that comes from MEND_SECRET_KEY, and a key file that does not exist", async () => {
    const dataDir = temp("mend-cli-rotate-");
    const fromEnv = await mend(["rotate-secret"], {
      MEND_DATA_DIR: dataDir,
      MEND_POLICIES_DIR: POLICIES,
      MEND_SECRET_KEY: randomBytes(32).toString("hex"),
    });
    assert.equal(fromEnv.code, 2);
    assert.match(fromEnv.err, /MEND_SECRET_KEY is set/);
    const missing = await mend(["rotate-secret"], { MEND_DATA_DIR: dataDir, MEND_POLICIES_DIR: POLICIES });
    assert.equal(missing.code, 2);
    assert.match(missing.err, /does not exist/);
  });
});
