// Three replicas on one PostgreSQL database, no load balancer (the test picks replicas round-robin): every
// client-driven key executes once wherever it is sent, the same key sent to two replicas at once executes
// once, SSE on one replica follows steps executed on another (Last-Event-ID included), a tenant's
// concurrency limit is shared between the replicas, and SIGTERM hands a replica's hosted runs over at once.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { call } from "../support/http-json.ts";
import { createKey } from "../support/service-process.ts";
import {
  registerEffect,
  replicaServer,
  startEffectServer,
  startReplicaSet,
  until,
  type EffectServer,
  type ReplicaSet,
} from "../support/replica-set.ts";
import { openSse } from "../support/sse-reader.ts";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { callTool, finish } from "../support/fake-llm-turns.ts";
import type { PostgresServer } from "../support/postgres-server.ts";

const avail = await replicaServer();
const skip = avail.server ? undefined : avail.reason;
if (skip) console.log(`# skipping the replica tests: ${skip}`);

/** Turns of each hosted run: effect calls, then finish. */
const HOSTED_TURNS = 6;
/** Long enough that a lease could not have lapsed during the test: a handover happened by release. */
const LONG_TTL_MS = 120_000;

const tool = (name: string, n: number) => ({ type: "tool", tool: name, args: { n } });

describe("three replicas on one PostgreSQL database", { skip }, () => {
  let set: ReplicaSet | null = null;
  let effects: EffectServer | null = null;
  let slow: EffectServer | null = null;
  let llm: FakeLlm | null = null;
  before(async () => {
    effects = await startEffectServer();
    slow = await startEffectServer(400);
    llm = await startFakeLlm({
      latencyMs: 5,
      script: (_req, turn) => (turn < HOSTED_TURNS ? callTool("slow", { n: turn }) : finish("done")),
    });
    set = await startReplicaSet(avail.server as PostgresServer, {
      replicas: 3,
      env: {
        MEND_LLM_PROVIDER: "openai",
        MEND_LLM_BASE_URL: llm.url,
        MEND_LLM_MODEL: "fake",
        MEND_REPLICA_TTL_MS: String(LONG_TTL_MS),
      },
      policies: {
        "limited.yaml": "name: limited\nextends: default\nlimits: { concurrentExecutions: 3 }\n",
      },
    });
    await registerEffect(set.slots[0]!.url, effects.endpoint);
    await registerEffect(set.slots[0]!.url, slow.endpoint, "slow");
  });
  after(async () => {
    await set?.close();
    await effects?.close();
    await slow?.close();
    await llm?.close();
  });

  it("executes every key of client-driven runs once, whichever replica each step is sent to", async () => {
    const s = set!;
    const runs: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await call(s.next().url, "POST", "/v1/runs", { mode: "client" });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      runs.push(r.body.id as string);
    }
    const first = new Map<string, unknown>();
    await Promise.all(
      runs.map(async (id) => {
        for (let k = 0; k < 8; k++) {
          const r = await call(s.next().url, "POST", `/v1/runs/${id}/steps`, {
            key: `k${k}`,
            action: tool("effect", k),
          });
          assert.equal(r.status, 200, JSON.stringify(r.body));
          assert.equal(r.body.status, "succeeded", JSON.stringify(r.body));
          first.set(`${id}/k${k}`, r.body.result);
        }
      }),
    );
    // Every key again, on another replica: replayed, with the first execution's result (its nonce).
    for (const id of runs)
      for (let k = 0; k < 8; k++) {
        const r = await call(s.next().url, "POST", `/v1/runs/${id}/steps`, {
          key: `k${k}`,
          action: tool("effect", k),
        });
        assert.equal(r.body.replayed, true);
        assert.deepEqual(r.body.result, first.get(`${id}/k${k}`));
      }
    const calls = [...effects!.calls.values()];
    assert.equal(calls.length, 48, "one idempotency key per step");
    assert.ok(
      calls.every((n) => n === 1),
      "each key was executed once",
    );
    const rows = await s.sql<{ n: string }>(
      "SELECT count(*) AS n FROM steps WHERE run_id = ANY($1) AND attempt = 1 AND status = 'succeeded'",
      [runs],
    );
    assert.equal(Number(rows[0]!.n), 48);
  });

  it("executes once a step key sent to two replicas at the same time", async () => {
    const s = set!;
    const [a, b] = [s.slots[0]!, s.slots[1]!];
    const id = (await call(a.url, "POST", "/v1/runs", { mode: "client" })).body.id as string;
    const before = slow!.calls.size;
    for (let k = 0; k < 6; k++) {
      const body = { key: `same-${k}`, action: tool("slow", k) };
      const [x, y] = await Promise.all([
        call(a.url, "POST", `/v1/runs/${id}/steps`, body),
        call(b.url, "POST", `/v1/runs/${id}/steps`, body),
      ]);
      assert.equal(x.status, 200, JSON.stringify(x.body));
      assert.equal(y.status, 200, JSON.stringify(y.body));
      assert.deepEqual(x.body.result, y.body.result, "both answer the one execution");
      assert.equal([x.body.replayed, y.body.replayed].filter(Boolean).length, 1, "one ran, one replayed");
    }
    assert.equal(slow!.calls.size - before, 6);
    for (const [key, n] of slow!.calls) if (key.startsWith(`${id}/`)) assert.equal(n, 1, key);
  });

  it("streams on replica 1 the steps replica 2 executes, and resumes after Last-Event-ID", async () => {
    const s = set!;
    const [one, two] = [s.slots[0]!, s.slots[1]!];
    const id = (await call(one.url, "POST", "/v1/runs", { mode: "client" })).body.id as string;
    const stream = await openSse(one.url, id);
    try {
      for (let k = 0; k < 3; k++) {
        const r = await call(two.url, "POST", `/v1/runs/${id}/steps`, {
          key: `sse-${k}`,
          action: tool("effect", k),
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        await stream.waitFor(
          (e) => e.event === "step.completed" && (e.data as { key: string }).key === `sse-${k}`,
          `step sse-${k} on the stream of the other replica`,
        );
      }
    } finally {
      stream.close();
    }
    const seen = stream.events;
    assert.deepEqual(
      seen.map((e) => e.event),
      ["step.started", "step.completed", "step.started", "step.completed", "step.started", "step.completed"],
    );
    // Resumed on the third replica after the second event: the rest, once each, in order.
    const resumed = await openSse(s.slots[2]!.url, id, seen[1]!.id);
    try {
      await resumed.waitFor((e) => e.id === seen.at(-1)!.id, "the last event again");
    } finally {
      resumed.close();
    }
    assert.deepEqual(
      resumed.events.map((e) => e.id),
      seen.slice(2).map((e) => e.id),
    );
  });

  it("hands a replica's hosted runs over at SIGTERM, without waiting for its lease to lapse", async () => {
    const s = set!;
    const runs: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await call(s.next().url, "POST", "/v1/runs", { mode: "hosted", goal: `handover ${i}` });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      runs.push(r.body.id as string);
    }
    // Every run has a driver and has made progress: the victim is the driver of the first run.
    const owners = await until(async () => {
      const rows = await s.sql<{ id: string; lease_owner: string | null; n: string }>(
        `SELECT r.id, r.lease_owner, (SELECT count(*) FROM steps WHERE run_id = r.id AND status = 'succeeded') AS n
         FROM runs r WHERE r.id = ANY($1)`,
        [runs],
      );
      return rows.every((r) => r.lease_owner && Number(r.n) >= 2) ? rows : undefined;
    }, "every hosted run driven and past its first turn");
    const victim = owners.find((r) => r.id === runs[0])!.lease_owner!;
    const slot = s.slots.findIndex((p) => p && victim.split("/")[1] === String(p.child.pid));
    assert.ok(slot >= 0, `the driver ${victim} is one of the replicas`);
    const theirs = owners.filter((r) => r.lease_owner === victim).map((r) => r.id);
    await s.stop(slot, "SIGTERM");
    // The TTL is 120 s: runs driven elsewhere before it lapses were released by the stopping replica.
    const done = await until(
      async () => {
        const rows = await s.sql<{ id: string; status: string; lease_owner: string | null }>(
          "SELECT id, status, lease_owner FROM runs WHERE id = ANY($1)",
          [runs],
        );
        return rows.every((r) => r.status === "succeeded") ? rows : undefined;
      },
      "every hosted run to succeed",
      90_000,
    );
    assert.equal(done.length, 6);
    const drivers = await s.sql<{ run_id: string; owners: string[] }>(
      "SELECT run_id, array_agg(DISTINCT owner) AS owners FROM steps WHERE run_id = ANY($1) AND owner IS NOT NULL GROUP BY run_id",
      [theirs],
    );
    for (const d of drivers)
      assert.ok(
        d.owners.some((o) => o !== victim),
        `run ${d.run_id} was continued by another replica`,
      );
    // Each turn's side effect happened once: nothing re-executed by the handover.
    for (const [key, n] of slow!.calls)
      if (runs.some((r) => key.startsWith(`${r}/`))) assert.equal(n, 1, key);
    const completed = await s.sql<{ n: string }>(
      "SELECT count(*) AS n FROM events WHERE run_id = ANY($1) AND type = 'run.completed'",
      [runs],
    );
    assert.equal(Number(completed[0]!.n), 6, "each run finished once");
    await s.start(slot);
  });
  // Last: once an API key exists, calls without one are refused.
  it("shares a tenant's concurrency limit between the replicas (limit ÷ live replicas each)", async () => {
    const s = set!;
    await until(async () => {
      const lives = await Promise.all(s.urls().map((u) => call(u, "GET", "/healthz")));
      return lives.every((h) => h.body.replica?.live === 3);
    }, "every replica to count 3 live replicas");
    const key = await createKey(s.env, "lim", "limited");
    const auth = { authorization: `Bearer ${key}` };
    const id = (await call(s.slots[0]!.url, "POST", "/v1/runs", { mode: "client" }, auth)).body.id as string;
    const sleepStep = (url: string, k: string) =>
      call(
        url,
        "POST",
        `/v1/runs/${id}/steps`,
        { key: k, action: { type: "tool", tool: "sleep", args: { ms: 1500 } } },
        auth,
      );
    // Two at once on one replica: its share is 1 of the 3.
    const [p, q] = await Promise.all([
      sleepStep(s.slots[0]!.url, "one-a"),
      sleepStep(s.slots[0]!.url, "one-b"),
    ]);
    assert.deepEqual([p.status, q.status].sort(), [200, 429], JSON.stringify([p.body, q.body]));
    const refused = p.status === 429 ? p : q;
    assert.match(refused.body.detail, /share of the policy's limit of 3/);
    // One on each replica: 3 in all, within the limit.
    const all = await Promise.all(s.urls().map((u, i) => sleepStep(u, `each-${i}`)));
    assert.deepEqual(
      all.map((r) => r.status),
      [200, 200, 200],
      JSON.stringify(all.map((r) => r.body)),
    );
  });
});
