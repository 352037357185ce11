import * as t from "node:test";
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import pg from "pg";
import { PostgresStore } from "./postgres-store.ts";
import { PG_MIGRATIONS } from "./pg-migrations.ts";
import { runStoreConformance } from "../testing/store-conformance.ts";
import { runBlobStoreConformance } from "../testing/blob-store-conformance.ts";
import { runStoreFaultSuite } from "../testing/store-fault-suite.ts";
import {
  controlPostgres,
  freshDatabase,
  postgresServer,
  type PostgresServer,
} from "../../../../test/support/postgres-server.ts";

// The shared server of ./scripts/test (TEST_POSTGRES_URL), or one of our own; skipped, saying why, without.
const shared = await postgresServer();
const skip = shared.server ? undefined : shared.reason;
if (skip) console.log(`# skipping the PostgreSQL store suites: ${skip}`);
after(() => shared.server?.stop());

const serverUrl = () => shared.server!.url;

runStoreConformance(
  t,
  "postgres",
  async () => {
    const db = await freshDatabase(serverUrl());
    return {
      store: await PostgresStore.open(db.url, { poolSize: 4 }),
      open: () => PostgresStore.open(db.url, { poolSize: 4 }),
      destroy: () => db.drop(),
    };
  },
  skip,
);

runBlobStoreConformance(t, "postgres", async () => {
  if (skip) throw new Error(skip);
  const db = await freshDatabase(serverUrl());
  const store = await PostgresStore.open(db.url, { poolSize: 4 });
  return {
    blobs: store.blobStore(),
    destroy: async () => {
      await store.close();
      await db.drop();
    },
  };
});

describe("PostgresStore migrations", { skip }, () => {
  it("applies each migration once when several processes open a fresh database at the same moment", async () => {
    const db = await freshDatabase(serverUrl());
    try {
      const code = `
        import { PostgresStore } from ${JSON.stringify(new URL("./postgres-store.ts", import.meta.url).href)};
        const s = await PostgresStore.open(${JSON.stringify(db.url)}, { poolSize: 1 });
        console.log(await s.schemaVersion());
        await s.close();`;
      const opened = await Promise.all(
        Array.from(
          { length: 4 },
          () =>
            new Promise<string>((resolve, reject) => {
              const p = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: "pipe" });
              let out = "";
              let err = "";
              p.stdout.on("data", (d: Buffer) => (out += d.toString()));
              p.stderr.on("data", (d: Buffer) => (err += d.toString()));
              p.on("exit", (c) => (c === 0 ? resolve(out.trim()) : reject(new Error(`exit ${c}: ${err}`))));
            }),
        ),
      );
      assert.deepEqual(opened, Array(4).fill(String(PG_MIGRATIONS.length)));
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const r = await c.query("SELECT version FROM mend_schema_migrations ORDER BY version");
        assert.deepEqual(
          r.rows.map((x: { version: number }) => x.version),
          PG_MIGRATIONS.map((_, i) => i + 1),
        );
      } finally {
        await c.end();
      }
    } finally {
      await db.drop();
    }
  });

  it("keeps the data when reopened", async () => {
    const db = await freshDatabase(serverUrl());
    try {
      const a = await PostgresStore.open(db.url);
      await a.createRun({ id: "run_a", tenant: "t1", mode: "client", goal: null, implicit: false });
      await a.close();
      const b = await PostgresStore.open(db.url);
      assert.equal((await b.getRun("t1", "run_a"))?.id, "run_a");
      assert.equal(await b.schemaVersion(), PG_MIGRATIONS.length);
      await b.close();
    } finally {
      await db.drop();
    }
  });

  it("refuses to open an unreachable server with StorageUnavailableError", async () => {
    const free = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, "127.0.0.1", () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => resolve(port));
      });
    });
    await assert.rejects(PostgresStore.open(`postgres://mend@127.0.0.1:${free}/postgres`), {
      name: "StorageUnavailableError",
    });
  });
});

// A cluster of our own, stopped (as by a crash) and started again under the store's feet.
let own: PostgresServer | null = null;
after(() => own?.stop());

runStoreFaultSuite(
  t,
  "postgres with its server stopped",
  {
    async open() {
      // synchronous_commit on: a commit the server acknowledged survives the crash (off would lose it).
      const got = await postgresServer({ own: true, options: ["-c", "fsync=off"] });
      if (!got.server) throw new Error(got.reason);
      own = got.server;
      const db = await freshDatabase(own.url);
      return { store: await PostgresStore.open(db.url, { poolSize: 2 }), destroy: () => db.drop() };
    },
    breakStorage: () => controlPostgres(own!, "stop"),
    restoreStorage: () => controlPostgres(own!, "resume"),
    reason: /PostgreSQL/,
  },
  skip,
);
