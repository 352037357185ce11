import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { PostgresStore } from "./postgres-store.ts";
import { ApiKeys } from "../../auth/api-keys.ts";
import { changedFrom } from "../testing/conformance-versions.ts";
import { apiKeyRecord, toolRecord as tool } from "../testing/record-fixtures.ts";
import { freshDatabase, postgresServer } from "../../../../test/support/postgres-server.ts";

// The shared server of ./scripts/test (TEST_POSTGRES_URL), or one of our own; skipped, saying why, without.
const shared = await postgresServer();
const skip = shared.server ? undefined : shared.reason;
after(() => shared.server?.stop());

/** Two replicas (stores) on one fresh database, and a plain client standing for the CLI or an admin's SQL. */
async function replicas(): Promise<{
  a: PostgresStore;
  b: PostgresStore;
  sql: pg.Client;
  dbName: string;
  close(): Promise<void>;
}> {
  const db = await freshDatabase(shared.server!.url);
  const a = await PostgresStore.open(db.url, { poolSize: 2 });
  const b = await PostgresStore.open(db.url, { poolSize: 2 });
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  return {
    a,
    b,
    sql,
    dbName: new URL(db.url).pathname.slice(1),
    async close() {
      await sql.end().catch(() => {});
      await a.close();
      await b.close();
      await db.drop();
    },
  };
}

/** The identification of `token` by `keys`, read again until it is of `kind` (the test's timeout bounds it). */
async function until(keys: ApiKeys, token: string, kind: string): Promise<string> {
  for (;;) {
    const id = await keys.identify(`Bearer ${token}`);
    const got = id.kind === "refused" ? id.reason : id.kind;
    if (got === kind) return got;
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe("PostgreSQL tools' and API keys' versions across replicas", { skip }, () => {
  it("answers both versions from memory: no statement on the pool", async () => {
    const r = await replicas();
    try {
      const before = r.a.counters().statements;
      for (let i = 0; i < 10; i++) {
        assert.notEqual(await r.a.toolsVersion(), null);
        await r.a.apiKeysVersion();
      }
      assert.equal(r.a.counters().statements, before);
    } finally {
      await r.close();
    }
  });

  it("moves a replica's tools version when another puts or deletes a tool, once the NOTIFY arrives", async () => {
    const r = await replicas();
    try {
      const v0 = await r.b.toolsVersion();
      assert.notEqual(v0, null);
      await r.a.putTool(tool("w"));
      const v1 = await changedFrom(() => r.b.toolsVersion(), v0);
      assert.deepEqual(
        (await r.b.listTools("t1")).map((x) => x.name),
        ["w"],
      );
      await r.a.deleteTool("t1", "w");
      const v2 = await changedFrom(() => r.b.toolsVersion(), v1);
      assert.deepEqual(await r.b.listTools("t1"), []);
      // Any SQL moves it too (the trigger, not the store, sends the notification).
      await r.sql.query(
        "INSERT INTO tools (tenant, name, spec, secret, created_at, updated_at) VALUES ('t1', 'raw', '{}', NULL, 1, 1)",
      );
      await changedFrom(() => r.b.toolsVersion(), v2);
      assert.deepEqual(
        (await r.b.listTools("t1")).map((x) => x.name),
        ["raw"],
      );
    } finally {
      await r.close();
    }
  });

  it("moves a replica's own versions as soon as its write resolved, before any notification", async () => {
    const r = await replicas();
    try {
      const tools = await r.a.toolsVersion();
      const keys = await r.a.apiKeysVersion();
      await r.a.putTool(tool("w"));
      assert.notEqual(await r.a.toolsVersion(), tools);
      await r.a.putApiKey(apiKeyRecord("k1"));
      assert.notEqual(await r.a.apiKeysVersion(), keys);
    } finally {
      await r.close();
    }
  });

  it("refuses on every replica a key revoked through another one, or by SQL as the CLI does", async () => {
    const r = await replicas();
    try {
      const keysA = new ApiKeys(r.a);
      const keysB = new ApiKeys(r.b);
      const first = await keysA.create({ tenant: "acme", policy: "default" });
      const second = await keysA.create({ tenant: "acme", policy: "default" });
      // Both replicas accept both keys (B learns of A's keys from the notification; cached from then on).
      for (const keys of [keysA, keysB])
        for (const k of [first, second]) assert.equal(await until(keys, k.token, "key"), "key");
      const v = await r.a.apiKeysVersion();
      assert.equal(await keysB.revoke(first.key.id), true);
      await changedFrom(() => r.a.apiKeysVersion(), v);
      assert.equal(await until(keysA, first.token, "revoked"), "revoked");
      assert.equal(await until(keysB, first.token, "revoked"), "revoked");
      assert.equal((await keysA.identify(`Bearer ${second.token}`)).kind, "key");
      // Revoked in SQL, as `mend keys revoke` does from its own process — on a host whose clock is behind:
      // revoked_at older than the first revocation (the count/max version this replaces missed exactly this).
      const w = await r.b.apiKeysVersion();
      await r.sql.query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2", [1, second.key.id]);
      await changedFrom(() => r.b.apiKeysVersion(), w);
      assert.equal(await until(keysA, second.token, "revoked"), "revoked");
      assert.equal(await until(keysB, second.token, "revoked"), "revoked");
    } finally {
      await r.close();
    }
  });

  it("answers no cached version while its side connection is down, and sees after the reconnect a change made meanwhile", async () => {
    const r = await replicas();
    try {
      const v0 = await r.a.toolsVersion();
      assert.notEqual(v0, null);
      // New connections to the database refused (from another database: not allowed on the current one):
      // the side connection cannot come back before we allow it.
      const admin = new pg.Client({ connectionString: shared.server!.url });
      await admin.connect();
      await admin.query(`ALTER DATABASE ${r.dbName} ALLOW_CONNECTIONS false`);
      try {
        const killed = await r.sql.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'mend-replica'",
        );
        assert.equal(killed.rowCount, 2, "both replicas' side connections");
        assert.equal(await changedFrom(() => r.a.toolsVersion(), v0), null, "tools: callers list every time");
        const k1 = await r.a.apiKeysVersion();
        const k2 = await r.a.apiKeysVersion();
        assert.notEqual(k1, k2, "keys: a version never answered before, each time");
        // A change no notification tells A of: its side connection is gone.
        await r.sql.query(
          "INSERT INTO tools (tenant, name, spec, secret, created_at, updated_at) VALUES ('t1', 'meanwhile', '{}', NULL, 1, 1)",
        );
        assert.equal(await r.a.toolsVersion(), null, "still down");
      } finally {
        await admin.query(`ALTER DATABASE ${r.dbName} ALLOW_CONNECTIONS true`);
        await admin.end();
      }
      // Reconnected by the version reads themselves (one attempt a second at most).
      const v1 = await changedFrom(() => r.a.toolsVersion(), null);
      assert.notEqual(v1, v0, "a version after the reconnect differs from every one before");
      assert.equal(await r.a.toolsVersion(), v1, "and is cached again");
      assert.deepEqual(
        (await r.a.listTools("t1")).map((x) => x.name),
        ["meanwhile"],
      );
      // And the notifications flow again.
      await r.b.putTool(tool("after"));
      await changedFrom(() => r.a.toolsVersion(), v1);
    } finally {
      await r.close();
    }
  });

  it("answers no cached version once its side connection has gone quiet (a partition), and catches up when it answers", async () => {
    const r = await replicas();
    const side = await r.sql.query(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'mend-replica'",
    );
    const pids = side.rows.map((x: { pid: number }) => x.pid);
    try {
      const v0 = await r.a.toolsVersion();
      assert.notEqual(v0, null);
      // Frozen server processes: the connections stay open but nothing comes back (no FIN, no error).
      for (const pid of pids) process.kill(pid, "SIGSTOP");
      await r.sql.query(
        "INSERT INTO tools (tenant, name, spec, secret, created_at, updated_at) VALUES ('t1', 'unheard', '{}', NULL, 1, 1)",
      );
      // Trusted until QUIET_MS of silence (its bound), then no cached answer: polled, never timed.
      assert.equal(await changedFrom(() => r.a.toolsVersion(), v0), null);
      assert.notEqual(await r.a.apiKeysVersion(), await r.a.apiKeysVersion());
      for (const pid of pids) process.kill(pid, "SIGCONT");
      pids.length = 0;
      const v1 = await changedFrom(() => r.a.toolsVersion(), null);
      assert.notEqual(
        v1,
        v0,
        "the notification queued meanwhile arrived before the connection counted again",
      );
      assert.deepEqual(
        (await r.a.listTools("t1")).map((x) => x.name),
        ["unheard"],
      );
    } finally {
      for (const pid of pids) process.kill(pid, "SIGCONT");
      await r.close();
    }
  });
});
