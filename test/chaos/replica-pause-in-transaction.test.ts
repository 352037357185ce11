// A replica paused (SIGSTOP) in the middle of a transaction, its row locks held: the other replica's writes for
// the same tenant go through once the paused replica's TTL has passed (PostgreSQL ends the idle session and
// rolls it back), the step it was claiming is executed once, by the other replica, and the paused one, resumed,
// answers its caller with a storage failure (503, retry) and goes on serving.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { replicaServer, startReplicaSet, until, type ReplicaSet } from "../support/replica-set.ts";
import { call } from "../support/http-json.ts";
import type { PostgresServer } from "../support/postgres-server.ts";

const avail = await replicaServer();
const skip = avail.server ? undefined : avail.reason;
if (skip) console.log(`# skipping the replica pause-in-transaction test: ${skip}`);

/** Far above the TTL (2 s): only a write that waits for the paused replica itself runs into it. */
const THROUGH_MS = 45_000;

/** `reply`, or a failure naming `what` once THROUGH_MS have passed without it. */
function within<T>(what: string, reply: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${THROUGH_MS} ms`)), THROUGH_MS);
  });
  return Promise.race([reply, late]).finally(() => clearTimeout(timer));
}

const sleepStep = (key: string) => ({ key, action: { type: "tool", tool: "sleep", args: { ms: 0 } } });

describe("a replica paused inside a transaction", { skip }, () => {
  let set: ReplicaSet | null = null;
  let locker: pg.Client | null = null;
  after(async () => {
    await locker?.end().catch(() => {});
    await set?.close(); // SIGCONT first, then SIGKILL: nothing is left stopped
  });

  it("holds no lock past its TTL: the other replica's writes go through, and the step it claimed runs once", async () => {
    set = await startReplicaSet(avail.server as PostgresServer, { replicas: 2 });
    const s = set;
    const [a, b] = [s.slots[0]!, s.slots[1]!];
    const created = await call(a.url, "POST", "/v1/runs", { mode: "client" });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = created.body.id as string;
    const tenant = (await s.sql<{ tenant: string }>("SELECT tenant FROM runs WHERE id = $1", [runId]))[0]!
      .tenant;

    // Hold the tenant's usage row, so A's claim (whose insert updates it, by trigger) waits mid-transaction.
    locker = new pg.Client({ connectionString: s.dbUrl });
    await locker.connect();
    await locker.query("BEGIN");
    await locker.query("SELECT 1 FROM tenant_usage WHERE tenant = $1 FOR UPDATE", [tenant]);
    const onA = call(a.url, "POST", `/v1/runs/${runId}/steps`, sleepStep("s1"));
    onA.catch(() => undefined); // awaited after the resume
    await until(
      async () =>
        (
          await s.sql(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
          )
        ).length > 0,
      "A's claim waiting on the tenant's row",
    );
    a.child.kill("SIGSTOP");
    try {
      // Released while A is stopped: A's insert completes in the server, and A cannot send what follows —
      // its session sits idle in a transaction that holds the new step's key and the tenant's row.
      await locker.query("COMMIT");
      await until(
        async () =>
          (
            await s.sql(
              "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'",
            )
          ).length > 0,
        "A idle in its transaction",
      );
      // The same step on B (the client retrying elsewhere): its insert waits on A's uncommitted row until the
      // server ends A's session; then it is B's claim, and B executes it.
      const same = await within(
        "B's claim of the step A was claiming",
        call(b.url, "POST", `/v1/runs/${runId}/steps`, sleepStep("s1")),
      );
      assert.equal(same.status, 200, JSON.stringify(same.body));
      assert.equal(same.body.status, "succeeded");
      // Another run of the same tenant on B: its writes update the same usage row.
      const other = await within(
        "B creating a run of the same tenant",
        call(b.url, "POST", "/v1/runs", { mode: "client" }),
      );
      assert.equal(other.status, 201, JSON.stringify(other.body));
      const step = await within(
        "B's step on that run",
        call(b.url, "POST", `/v1/runs/${other.body.id as string}/steps`, sleepStep("s1")),
      );
      assert.equal(step.body.status, "succeeded", JSON.stringify(step.body));
    } finally {
      a.child.kill("SIGCONT");
    }

    // A, resumed, finds its transaction gone: its caller gets a storage failure to retry, and A goes on.
    const late = await onA;
    assert.equal(late.status, 503, JSON.stringify(late.body));
    assert.equal(late.body.type, "urn:mend:problem:storage_unavailable");
    await until(async () => (await call(a.url, "GET", "/healthz")).status === 200, "A to answer again");
    const again = await call(a.url, "POST", `/v1/runs/${runId}/steps`, sleepStep("s2"));
    assert.equal(again.body.status, "succeeded", JSON.stringify(again.body));
    const rows = await s.sql<{ attempt: number; status: string }>(
      "SELECT attempt, status FROM steps WHERE run_id = $1 AND key = 's1'",
      [runId],
    );
    assert.deepEqual(rows, [{ attempt: 1, status: "succeeded" }], "the step A was claiming ran once, on B");
    const completed = await s.sql(
      "SELECT 1 FROM events WHERE run_id = $1 AND type = 'step.completed' AND (data::json)->>'key' = 's1'",
      [runId],
    );
    assert.equal(completed.length, 1, "one step.completed for it");
  });
});
