// Store conformance, versions: the tools' and the API keys' versions that callers cache the lists under —
// stable while nothing changes, moved by this handle's own write as soon as it resolved (also by one pending
// while the version was read), and by another handle's write (another replica, the CLI) once the store
// learned of it: waited for by polling the version, since a store may learn of it asynchronously (NOTIFY).
import assert from "node:assert/strict";
import type { Store } from "../store.ts";
import type { SuiteContext } from "./conformance-kit.ts";
import { apiKeyRecord as key, toolRecord as tool } from "./record-fixtures.ts";

/**
 * Reads the version until it differs from `before` (no time threshold: the test's timeout bounds the wait).
 * @example const v2 = await changedFrom(() => store.toolsVersion(), v1)
 */
export async function changedFrom<V>(read: () => Promise<V>, before: V): Promise<V> {
  for (;;) {
    const v = await read();
    if (v !== before) return v;
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Registers the version tests. */
export function versionsSuite({ t, test }: SuiteContext): void {
  t.describe("versions", () => {
    test("moves the API-keys version at once when this handle creates or revokes a key", async (s) => {
      const v0 = await s.apiKeysVersion();
      assert.equal(await s.apiKeysVersion(), v0, "stable while nothing changes");
      await s.putApiKey(key("k1"));
      const v1 = await s.apiKeysVersion();
      assert.notEqual(v1, v0);
      assert.equal(await s.apiKeysVersion(), v1, "stable again after the write");
      await s.revokeApiKey("k1", 5);
      assert.notEqual(await s.apiKeysVersion(), v1);
    });

    test("moves the API-keys version once another handle's key write is known, and the list shows it", async (s, h) => {
      const other = await h.open();
      await s.putApiKey(key("k1"));
      const v1 = await s.apiKeysVersion();
      await other.putApiKey(key("k2"));
      const v2 = await changedFrom(() => s.apiKeysVersion(), v1);
      assert.deepEqual(
        (await s.listApiKeys()).map((k) => k.id),
        ["k1", "k2"],
        "a key written through another connection (the CLI) is listed under the new version",
      );
      await other.revokeApiKey("k1", 5);
      await changedFrom(() => s.apiKeysVersion(), v2);
      assert.equal((await s.listApiKeys()).find((k) => k.id === "k1")?.revokedAt, 5);
    });

    test("moves the API-keys version again once a write pending while it was read has resolved", async (s) => {
      const pending = s.putApiKey(key("k1"));
      const during = await s.apiKeysVersion();
      await pending;
      assert.notEqual(await s.apiKeysVersion(), during);
    });

    test("moves the tools version at once when this handle puts or deletes a tool", async (s) => {
      const v0 = await s.toolsVersion();
      // A store without a cheap version answers null: its callers list the tools every time.
      if (v0 === null) return;
      assert.equal(await s.toolsVersion(), v0, "stable while nothing changes");
      await s.putTool(tool("w"));
      const v1 = await s.toolsVersion();
      assert.notEqual(v1, v0);
      await s.putApiKey(key("k"));
      await s.deleteTool("t1", "w");
      assert.notEqual(await s.toolsVersion(), v1);
      // A write pending while the version is read moves it again once it committed.
      const pending = s.putTool(tool("w3"));
      const during = await s.toolsVersion();
      await pending;
      assert.notEqual(await s.toolsVersion(), during);
    });

    test("moves the tools version once another handle's put or delete is known, and the list shows it", async (s, h) => {
      const v0 = await s.toolsVersion();
      if (v0 === null) return;
      const other = await h.open();
      // The caller's order: the version read first, then the list, then another handle's write — the
      // list cached under v0 is stale, so the version must move.
      assert.deepEqual(await s.listTools("t1"), []);
      await other.putTool(tool("w2"));
      const v1 = await changedFrom(() => s.toolsVersion(), v0);
      assert.deepEqual(await names(s), ["w2"], "a tool written through another connection is listed");
      await other.deleteTool("t1", "w2");
      await changedFrom(() => s.toolsVersion(), v1);
      assert.deepEqual(await names(s), [], "a deletion elsewhere is seen");
    });
  });
}

async function names(s: Store): Promise<string[]> {
  return (await s.listTools("t1")).map((x) => x.name);
}
