// The real service on PostgreSQL (MEND_DATABASE_URL): the journal, replays and blobs live in the database, so
// a second process on another data dir serves the same runs; the server stopped under it means 503
// storage_unavailable and /healthz ok:false, and the service serves again by itself once it is back.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { call } from "../support/http-json.ts";
import {
  controlPostgres,
  freshDatabase,
  postgresServer,
  type PostgresServer,
} from "../support/postgres-server.ts";

// A cluster of our own: this file stops and restarts it.
const avail = await postgresServer({ own: true, options: ["-c", "fsync=off"] });
const skip = avail.server ? undefined : avail.reason;
if (skip) console.log(`# skipping the service-on-PostgreSQL tests: ${skip}`);

const codemode = (code: string) => ({ type: "codemode", code });

describe("the service on PostgreSQL", { skip }, () => {
  const server = avail.server as PostgresServer;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  const services: ServiceProcess[] = [];
  let a: ServiceProcess;
  before(async () => {
    db = await freshDatabase(server.url);
    a = await startService({ MEND_DATABASE_URL: db.url });
    services.push(a);
  });
  after(async () => {
    for (const s of services) await s.stop("SIGKILL");
    await controlPostgres(server, "resume");
    await db?.drop();
    await server.stop();
  });

  it("reports the PostgreSQL store in /healthz", async () => {
    const h = await call(a.url, "GET", "/healthz");
    assert.equal(h.status, 200);
    assert.deepEqual([h.body.ok, h.body.store.kind], [true, "postgres"]);
  });

  it("journals steps and large outputs in the database, served by a second process on another data dir", async () => {
    const id = (await call(a.url, "POST", "/v1/runs", { mode: "client" })).body.id as string;
    const big = await call(a.url, "POST", `/v1/runs/${id}/steps`, {
      key: "big",
      action: codemode("return 'y'.repeat(20000)"),
    });
    assert.equal(big.status, 200, JSON.stringify(big.body));
    assert.deepEqual([big.body.status, big.body.result.length], ["succeeded", 20000]);
    const b = await startService({ MEND_DATABASE_URL: db.url });
    services.push(b);
    const replay = await call(b.url, "POST", `/v1/runs/${id}/steps`, {
      key: "big",
      action: codemode("return 'y'.repeat(20000)"),
    });
    assert.deepEqual([replay.body.replayed, replay.body.result.length], [true, 20000]);
    const ref = (await call(b.url, "GET", `/v1/runs/${id}/steps`)).body[0].output.result;
    const blob = await fetch(`${b.url}/v1/blobs/${ref.$blob as string}`);
    assert.equal(blob.status, 200, "the blob is in the database, not in the first process's data dir");
    assert.equal((JSON.parse(await blob.text()) as string).length, 20000);
  });

  it("forks on one replica a run journaled by another: the copies replay, the large output shared by reference", async () => {
    const id = (await call(a.url, "POST", "/v1/runs", { mode: "client" })).body.id as string;
    const big = codemode("return 'f'.repeat(20000)");
    await call(a.url, "POST", `/v1/runs/${id}/steps`, { key: "big", action: big });
    await call(a.url, "POST", `/v1/runs/${id}/steps`, { key: "small", action: codemode("return 1") });
    const c = await startService({ MEND_DATABASE_URL: db.url });
    services.push(c);
    const f = await call(c.url, "POST", `/v1/runs/${id}/fork`, { atSeq: 2 });
    assert.equal(f.status, 201, JSON.stringify(f.body));
    const fork = f.body.id as string;
    const replay = await call(a.url, "POST", `/v1/runs/${fork}/steps`, { key: "big", action: big });
    assert.deepEqual([replay.body.replayed, replay.body.result.length], [true, 20000]);
    const [parentBig] = (await call(a.url, "GET", `/v1/runs/${id}/steps`)).body;
    const [forkBig] = (await call(c.url, "GET", `/v1/runs/${fork}/steps`)).body;
    assert.deepEqual(forkBig.output, parentBig.output, "the same blob reference, not a copy");
    assert.deepEqual(forkBig.replayedFrom, { runId: id, seq: 1 });
    const forks = await call(a.url, "GET", `/v1/runs?parentRunId=${id}`);
    assert.deepEqual(
      forks.body.items.map((r: { id: string }) => r.id),
      [fork],
    );
  });

  it("refuses text PostgreSQL cannot store (a NUL character in a goal) with 400, not 500", async () => {
    const r = await call(a.url, "POST", "/v1/runs", { mode: "client", goal: "a\u0000b" });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.type, "urn:mend:problem:validation");
    assert.match(r.body.detail, /NUL/);
  });

  it("resumes the journal after a SIGKILL of the service", async () => {
    const id = (await call(a.url, "POST", "/v1/runs", { mode: "client" })).body.id as string;
    const first = await call(a.url, "POST", `/v1/runs/${id}/steps`, {
      key: "r",
      action: codemode("return Math.random()"),
    });
    await a.stop("SIGKILL");
    a = await startService({ MEND_DATABASE_URL: db.url });
    services.push(a);
    const again = await call(a.url, "POST", `/v1/runs/${id}/steps`, {
      key: "r",
      action: codemode("return Math.random()"),
    });
    assert.deepEqual([again.body.replayed, again.body.result], [true, first.body.result]);
  });

  it("answers 503 storage_unavailable while the server is down, and serves again once it is back", async () => {
    const id = (await call(a.url, "POST", "/v1/runs", { mode: "client" })).body.id as string;
    await controlPostgres(server, "stop");
    try {
      const r = await call(a.url, "POST", `/v1/runs/${id}/steps`, { key: "k", action: codemode("return 1") });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.type, "urn:mend:problem:storage_unavailable");
      assert.ok(Number(r.headers.get("retry-after")) > 0);
      const h = await call(a.url, "GET", "/healthz");
      assert.equal(h.status, 503);
      assert.equal(h.body.ok, false);
      assert.match(h.body.store.error, /PostgreSQL/);
    } finally {
      await controlPostgres(server, "resume");
    }
    const r = await call(a.url, "POST", `/v1/runs/${id}/steps`, { key: "k", action: codemode("return 1") });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.status, r.body.attempts], ["succeeded", 1]);
    assert.equal((await call(a.url, "GET", "/healthz")).body.ok, true);
    assert.equal(a.child.exitCode, null, "the service never exited");
  });
});
