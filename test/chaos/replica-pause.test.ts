// A replica paused (SIGSTOP) past its TTL while it drives hosted runs mid-step: another replica takes the runs
// and their started steps over; once resumed (SIGCONT) the paused replica writes nothing as their owner — no
// step claimed or ended, no run updated — and every run finishes once.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import {
  registerEffect,
  replicaServer,
  startEffectServer,
  startReplicaSet,
  until,
  type EffectServer,
  type ReplicaSet,
} from "../support/replica-set.ts";
import { call } from "../support/http-json.ts";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { callTool, finish } from "../support/fake-llm-turns.ts";
import type { PostgresServer } from "../support/postgres-server.ts";

const avail = await replicaServer();
const skip = avail.server ? undefined : avail.reason;
if (skip) console.log(`# skipping the replica pause test: ${skip}`);

const RUNS = 4;

/** What the database and B's log say when the takeover does not happen (a failure names its cause). */
async function explain(s: ReplicaSet, runs: string[], ids: string[], b: { logs: string[] }): Promise<string> {
  const now = Date.now();
  const q = async (text: string, params: unknown[]) =>
    JSON.stringify(await s.sql(text, params).catch((e: Error) => e.message));
  return [
    `now ${now}, A ${ids[0]}, B ${ids[1]}`,
    `runs: ${await q("SELECT id, status, lease_owner, lease_expires_at, iterations FROM runs WHERE id = ANY($1)", [runs])}`,
    `started steps: ${await q("SELECT run_id, key, kind, owner, attempt, heartbeat_at FROM steps WHERE run_id = ANY($1) AND status = 'started'", [runs])}`,
    `replicas: ${await q("SELECT id, heartbeat_at FROM replicas", [])}`,
    // a session idle in a transaction, or one waiting on a lock, names a stall the TTL should have ended
    `sessions: ${await q("SELECT pid, state, wait_event_type, (extract(epoch FROM now() - xact_start) * 1000)::int AS xact_ms, left(query, 100) AS query FROM pg_stat_activity WHERE datname = current_database()", [])}`,
    `B's log: ${b.logs.slice(-30).join("\n")}`,
  ].join("\n");
}
const TURNS = 6;

describe("a replica paused past its TTL", { skip }, () => {
  let set: ReplicaSet | null = null;
  let slow: EffectServer | null = null;
  let llm: FakeLlm | null = null;
  after(async () => {
    await set?.close(); // SIGCONT first, then SIGKILL: nothing is left stopped
    await slow?.close();
    await llm?.close();
  });

  it("writes nothing once resumed, and its runs finish once on the other replica", async () => {
    // Each tool step takes 3 s: the pause lands while steps are in flight.
    slow = await startEffectServer(3_000);
    llm = await startFakeLlm({
      latencyMs: 5,
      script: (_req, turn) => (turn < TURNS ? callTool("slow", { n: turn }) : finish("done")),
    });
    set = await startReplicaSet(avail.server as PostgresServer, {
      replicas: 1,
      env: { MEND_LLM_PROVIDER: "openai", MEND_LLM_BASE_URL: llm.url, MEND_LLM_MODEL: "fake" },
    });
    const s = set;
    const a = s.slots[0]!;
    await registerEffect(a.url, slow.endpoint, "slow");
    const aId = (await call(a.url, "GET", "/healthz")).body.replica.id as string;
    const runs: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await call(a.url, "POST", "/v1/runs", { mode: "hosted", goal: `pause ${i}` });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      runs.push(r.body.id as string);
    }
    // Every run driven by A, then B starts (nothing for it to take), then A has a tool step of each in flight.
    await until(async () => {
      const rows = await s.sql("SELECT id FROM runs WHERE id = ANY($1) AND lease_owner = $2", [runs, aId]);
      return rows.length === RUNS;
    }, "A to drive every run");
    const b = await s.start(1);
    const bId = (await call(b.url, "GET", "/healthz")).body.replica.id as string;
    await until(async () => {
      const rows = await s.sql(
        "SELECT DISTINCT run_id FROM steps WHERE run_id = ANY($1) AND owner = $2 AND status = 'started' AND kind = 'tool'",
        [runs, aId],
      );
      return rows.length === RUNS;
    }, "a tool step of every run in flight on A");

    a.child.kill("SIGSTOP");
    let resumedAt = 0;
    try {
      // B takes every run over, and re-claims A's started steps once A's heartbeat lapsed.
      await until(
        async () => {
          const leased = await s.sql(
            "SELECT id FROM runs WHERE id = ANY($1) AND (lease_owner = $2 OR status = 'succeeded')",
            [runs, bId],
          );
          const aStarted = await s.sql(
            "SELECT 1 FROM steps WHERE run_id = ANY($1) AND owner = $2 AND status = 'started'",
            [runs, aId],
          );
          return leased.length === RUNS && aStarted.length === 0;
        },
        "B to hold every run and A to own no started step",
        90_000,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await explain(s, runs, [aId, bId], b)}`);
      });
    } finally {
      resumedAt = Date.now();
      a.child.kill("SIGCONT");
    }

    await until(
      async () => {
        const rows = await s.sql("SELECT id FROM runs WHERE id = ANY($1) AND status = 'succeeded'", [runs]);
        return rows.length === RUNS;
      },
      "every run to succeed",
      120_000,
    );
    // A is alive and serving, and has had its chance to write (its in-flight tool calls answered meanwhile).
    await until(
      async () => (await call(a.url, "GET", "/healthz")).status === 200,
      "the resumed replica to answer",
    );
    await until(
      async () =>
        (await s.sql("SELECT 1 FROM replicas WHERE id = $1 AND heartbeat_at > $2", [aId, resumedAt])).length >
        0,
      "the resumed replica's heartbeat",
    );

    const writtenByA = await s.sql(
      "SELECT run_id, key, status, attempt FROM steps WHERE owner = $1 AND (started_at >= $2 OR ended_at >= $2)",
      [aId, resumedAt],
    );
    assert.deepEqual(writtenByA, [], "the resumed replica claimed and ended no step");
    const reclaimed = await s.sql("SELECT 1 FROM steps WHERE run_id = ANY($1) AND attempt > 1", [runs]);
    assert.ok(reclaimed.length >= RUNS, "B re-executed A's in-flight steps as attempt 2");
    const completedTwice = await s.sql(
      `SELECT run_id, (data::json)->>'key' AS key FROM events WHERE run_id = ANY($1)
       AND type IN ('step.completed', 'step.failed') GROUP BY 1, 2 HAVING count(*) > 1`,
      [runs],
    );
    assert.deepEqual(completedTwice, [], "no step completed twice");
    const finished = await s.sql<{ n: string }>(
      "SELECT run_id, count(*) AS n FROM events WHERE run_id = ANY($1) AND type = 'run.completed' GROUP BY 1",
      [runs],
    );
    assert.equal(finished.length, RUNS);
    assert.ok(
      finished.every((f) => Number(f.n) === 1),
      "each run finished once",
    );
    const lastByA = await s.sql("SELECT id FROM runs WHERE id = ANY($1) AND lease_owner = $2", [runs, aId]);
    assert.deepEqual(lastByA, [], "A took no lease back");
  });
});
