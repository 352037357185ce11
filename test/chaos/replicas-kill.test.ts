// 30 random SIGKILLs of three replicas on one PostgreSQL database (each restarted after a random delay), under
// client-driven and hosted load: no acknowledged step is lost, no step completes twice, no run finishes twice,
// every run finishes. Reports the takeover time: SIGKILL → the dead replica's hosted runs' next step started.
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
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { callTool, finish } from "../support/fake-llm-turns.ts";
import type { PostgresServer } from "../support/postgres-server.ts";

const avail = await replicaServer();
const skip = avail.server ? undefined : avail.reason;
if (skip) console.log(`# skipping the replica kill test: ${skip}`);

const KILLS = 30;
const CLIENT_WORKERS = 2;
const STEPS_PER_RUN = 5;
const HOSTED_TURNS = 12;
/** Every request gives up after this long (a worker never hangs on a dead socket). */
const REQUEST_TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

interface Reply {
  status: number;
  body: any;
}

/** One request; a network failure (a killed replica) is status 0. */
async function request(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers = {},
): Promise<Reply> {
  try {
    const res = await fetch(url + path, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
  } catch {
    return { status: 0, body: null };
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

describe("30 random SIGKILLs of three replicas under client-driven and hosted load", { skip }, () => {
  let set: ReplicaSet | null = null;
  let effects: EffectServer | null = null;
  let llm: FakeLlm | null = null;
  let stopping = false;
  const running: Promise<unknown>[] = [];
  after(async () => {
    // A failure stops the workers and the killer too, so that the file ends.
    stopping = true;
    await Promise.race([Promise.allSettled(running), sleep(REQUEST_TIMEOUT_MS + 5_000)]);
    await set?.close();
    await effects?.close();
    await llm?.close();
  });

  it("loses no acknowledged step, completes none twice, finishes every run once", async () => {
    const started = Date.now();
    effects = await startEffectServer(20);
    llm = await startFakeLlm({
      latencyMs: 20,
      script: (_req, turn) => (turn < HOSTED_TURNS ? callTool("effect", { n: turn }) : finish("done")),
    });
    set = await startReplicaSet(avail.server as PostgresServer, {
      replicas: 3,
      env: { MEND_LLM_PROVIDER: "openai", MEND_LLM_BASE_URL: llm.url, MEND_LLM_MODEL: "fake" },
    });
    const s = set;
    await registerEffect(s.slots[0]!.url, effects.endpoint);
    const pick = () => s.urls()[rand(0, s.urls().length)];
    const unexpected: string[] = [];

    /** Sends until a replica answers other than with a network failure or 503; returns that reply. */
    async function send(method: string, path: string, body?: unknown, headers = {}): Promise<Reply | null> {
      while (!stopping) {
        const url = pick();
        if (url) {
          const r = await request(url, method, path, body, headers);
          if (r.status !== 0 && r.status !== 503) return r;
        }
        await sleep(100);
      }
      return null;
    }

    // Client-driven load: runs created with an Idempotency-Key, steps to random replicas until acknowledged.
    const acked = new Map<string, unknown>();
    const clientRuns: string[] = [];
    const clientWorker = async (w: number) => {
      for (let n = 0; !stopping; n++) {
        const created = await send(
          "POST",
          "/v1/runs",
          { mode: "client" },
          { "idempotency-key": `w${w}-${n}` },
        );
        if (!created) return;
        // A retry after the creating replica died finds the run by its key: 200, not 201.
        if (created.status !== 201 && created.status !== 200) {
          unexpected.push(`create: ${created.status} ${JSON.stringify(created.body)}`);
          continue;
        }
        const id = created.body.id as string;
        clientRuns.push(id);
        for (let k = 0; k < STEPS_PER_RUN && !stopping; k++) {
          const r = await send("POST", `/v1/runs/${id}/steps`, {
            key: `k${k}`,
            action: { type: "tool", tool: "effect", args: { n: k } },
          });
          if (!r) return;
          if (r.status !== 200 || r.body.status !== "succeeded") {
            unexpected.push(`step: ${r.status} ${JSON.stringify(r.body)}`);
            continue;
          }
          acked.set(`${id}/k${k}`, r.body.result);
        }
      }
    };

    // Hosted load: a new hosted run every 2 s while the killer runs.
    const hostedRuns: string[] = [];
    let killing = true;
    const hostedWorker = async () => {
      for (let n = 0; killing && !stopping; n++) {
        const r = await send(
          "POST",
          "/v1/runs",
          { mode: "hosted", goal: `chaos ${n}` },
          { "idempotency-key": `h${n}` },
        );
        if (!r) return;
        if (r.status === 201 || r.status === 200) hostedRuns.push(r.body.id as string);
        else unexpected.push(`hosted create: ${r.status} ${JSON.stringify(r.body)}`);
        await sleep(2_000);
      }
    };

    // The killer: SIGKILL a random running replica, restart it after a random delay.
    const kills: { at: number; victim: string; runs: string[] }[] = [];
    const restarts: Promise<void>[] = [];
    const killer = async () => {
      for (let k = 0; k < KILLS && !stopping;) {
        await sleep(rand(300, 1000));
        // Never the last replica up: restarts run in the background, so kills do not wait for them.
        const up = [0, 1, 2].filter((i) => s.slots[i]);
        if (up.length < 2) continue;
        const slot = up[rand(0, up.length)]!;
        // A replica id is host/pid/random: the victim's leases are found by its pid.
        const victim = String(s.slots[slot]!.child.pid);
        const rows = await s.sql<{ id: string }>(
          "SELECT id FROM runs WHERE split_part(lease_owner, '/', 2) = $1 AND status = 'running'",
          [victim],
        );
        const at = Date.now();
        await s.stop(slot, "SIGKILL");
        kills.push({ at, victim, runs: rows.map((r) => r.id) });
        k++;
        restarts.push(
          (async () => {
            await sleep(rand(100, 800));
            if (stopping) return;
            await s.start(slot);
          })(),
        );
      }
      await Promise.allSettled(restarts);
      console.log(`# replicas-kill: ${kills.length} kills done at ${Date.now() - started} ms`);
    };

    const workers = [...Array.from({ length: CLIENT_WORKERS }, (_, w) => clientWorker(w)), hostedWorker()];
    running.push(...workers);
    const k = killer();
    running.push(k);
    await k;
    killing = false;
    stopping = true;
    await Promise.allSettled(workers);
    stopping = false;
    assert.equal(kills.length, KILLS);

    // Every hosted run finishes (the three replicas are up again).
    await until(
      async () => {
        const rows = await s.sql<{ n: string }>(
          "SELECT count(*) AS n FROM runs WHERE id = ANY($1) AND status <> 'succeeded'",
          [hostedRuns],
        );
        return Number(rows[0]!.n) === 0;
      },
      "every hosted run to succeed",
      120_000,
    );
    console.log(`# replicas-kill: every hosted run succeeded at ${Date.now() - started} ms`);
    assert.deepEqual(unexpected, [], "every request was answered as expected");
    assert.ok(acked.size > 0 && hostedRuns.length > 0);

    // Nothing acknowledged lost: every acknowledged key replays its acknowledged result.
    for (const [key, result] of acked) {
      const [runId, stepKey] = key.split("/");
      const r = await send("POST", `/v1/runs/${runId}/steps`, {
        key: stepKey,
        action: { type: "tool", tool: "effect", args: { n: Number(stepKey!.slice(1)) } },
      });
      assert.equal(r?.body.replayed, true, `${key} replays`);
      assert.deepEqual(r?.body.result, result, `${key} replays its acknowledged result`);
    }
    // No step completed twice, no run finished twice.
    const twice = await s.sql(
      `SELECT run_id, (data::json)->>'key' AS key, count(*) AS n FROM events
       WHERE type IN ('step.completed', 'step.failed') GROUP BY 1, 2 HAVING count(*) > 1`,
    );
    assert.deepEqual(twice, [], "no step completed twice");
    const finished = await s.sql<{ run_id: string; n: string }>(
      "SELECT run_id, count(*) AS n FROM events WHERE type = 'run.completed' GROUP BY 1",
    );
    assert.equal(finished.length, hostedRuns.length, "every hosted run finished");
    assert.ok(
      finished.every((f) => Number(f.n) === 1),
      "no run finished twice",
    );

    // Takeover: SIGKILL → the dead replica's hosted runs' next step started (on another replica).
    const takeovers: number[] = [];
    for (const kill of kills)
      for (const run of kill.runs) {
        const next = await s.sql<{ at: string | null }>(
          "SELECT min(at) AS at FROM events WHERE run_id = $1 AND type = 'step.started' AND at > $2",
          [run, kill.at],
        );
        if (next[0]?.at) takeovers.push(Number(next[0].at) - kill.at);
      }
    const attempts = await s.sql<{ n: string }>("SELECT count(*) AS n FROM steps WHERE attempt > 1");
    console.log(
      `# replicas-kill: ${KILLS} kills, ${acked.size} acknowledged client steps in ${clientRuns.length} runs, ${hostedRuns.length} hosted runs, ${attempts[0]!.n} steps re-executed; takeover p50 ${percentile(takeovers, 50)} ms / p99 ${percentile(takeovers, 99)} ms (n = ${takeovers.length}); wall ${Date.now() - started} ms`,
    );
  });
});
