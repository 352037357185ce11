// Store conformance, part 1: runs (creation, idempotency, tenant scoping, paging, updates) and leases.
import assert from "node:assert/strict";
import { FencedError, InvalidCursorError, NotFoundError } from "../store-errors.ts";
import { newRun, rejection, untilPast, type SuiteContext } from "./conformance-kit.ts";

export function runsSuite({ t, test }: SuiteContext): void {
  t.describe("runs", () => {
    test("creates a running run with every field as given", async (s) => {
      const before = Date.now();
      const { run, created } = await s.createRun({
        id: "run_a",
        tenant: "t1",
        mode: "hosted",
        goal: "sum the numbers",
        implicit: false,
        policy: "default",
        policyVersion: "v1",
        metadata: { team: "ops", n: [1, 2] },
        tools: ["echo"],
        model: { name: "m" },
      });
      assert.equal(created, true);
      assert.equal(run.status, "running");
      assert.deepEqual(
        [run.id, run.tenant, run.mode, run.goal, run.policy, run.policyVersion],
        ["run_a", "t1", "hosted", "sum the numbers", "default", "v1"],
      );
      assert.deepEqual(run.metadata, { team: "ops", n: [1, 2] });
      assert.deepEqual(run.tools, ["echo"]);
      assert.deepEqual(run.model, { name: "m" });
      assert.deepEqual([run.output, run.failure, run.waitingFor, run.iterations], [null, null, null, 0]);
      assert.deepEqual(
        [run.implicit, run.idempotencyKey, run.leaseOwner, run.leaseExpiresAt],
        [false, null, null, null],
      );
      assert.ok(run.createdAt >= before && run.updatedAt === run.createdAt);
      assert.deepEqual(await s.getRunById("run_a"), run);
    });

    test("returns the existing run for a repeated idempotency key of the same tenant only", async (s) => {
      const a = await s.createRun({
        id: "run_a",
        tenant: "t1",
        mode: "client",
        goal: null,
        implicit: false,
        idempotencyKey: "k",
      });
      const b = await s.createRun({
        id: "run_b",
        tenant: "t1",
        mode: "client",
        goal: null,
        implicit: false,
        idempotencyKey: "k",
      });
      const c = await s.createRun({
        id: "run_c",
        tenant: "t2",
        mode: "client",
        goal: null,
        implicit: false,
        idempotencyKey: "k",
      });
      assert.deepEqual([a.created, b.created, c.created], [true, false, true]);
      assert.equal(b.run.id, "run_a");
      assert.equal(c.run.id, "run_c");
      assert.equal(await s.getRunById("run_b"), null);
    });

    test("creates one run for one idempotency key sent concurrently over two connections", async (s, h) => {
      const other = await h.open();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? other : s).createRun({
            id: `run_${i}`,
            tenant: "t1",
            mode: "client",
            goal: null,
            implicit: false,
            idempotencyKey: "same",
          }),
        ),
      );
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.equal(new Set(results.map((r) => r.run.id)).size, 1);
      assert.equal((await s.listRuns("t1", { limit: 50 })).items.length, 1);
    });

    test("never shows a run to another tenant", async (s) => {
      await newRun(s, "run_a");
      assert.equal(await s.getRun("t2", "run_a"), null);
      assert.equal((await s.getRun("t1", "run_a"))?.id, "run_a");
      assert.deepEqual((await s.listRuns("t2", { limit: 10, includeImplicit: true })).items, []);
      assert.equal((await s.getRunById("run_a"))?.tenant, "t1", "the engine's lookup crosses tenants");
    });

    test("lists newest first, filtered by status, without implicit runs unless asked", async (s) => {
      await newRun(s, "run_1");
      await newRun(s, "run_2", { implicit: true });
      await newRun(s, "run_3");
      await s.updateRun("run_3", { status: "succeeded" });
      const ids = async (q: Parameters<typeof s.listRuns>[1]) =>
        (await s.listRuns("t1", q)).items.map((r) => r.id);
      const all = await ids({ limit: 10 });
      assert.deepEqual([...all].sort(), ["run_1", "run_3"]);
      const listed = (await s.listRuns("t1", { limit: 10, includeImplicit: true })).items;
      for (let i = 1; i < listed.length; i++) {
        const [a, b] = [listed[i - 1]!, listed[i]!];
        assert.ok(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id), "newest first");
      }
      assert.deepEqual(await ids({ limit: 10, status: "succeeded" }), ["run_3"]);
      assert.deepEqual(await ids({ limit: 10, status: "running" }), ["run_1"]);
      assert.deepEqual((await ids({ limit: 10, includeImplicit: true })).length, 3);
    });

    test("keeps each run's origin and lists one origin on request", async (s) => {
      await newRun(s, "run_c");
      await newRun(s, "run_h", { mode: "hosted" });
      await newRun(s, "run_o", { implicit: true });
      await newRun(s, "run_m", { implicit: true, origin: "mcp" });
      const origins = Object.fromEntries(
        (await s.listRuns("t1", { limit: 10, includeImplicit: true })).items.map((r) => [r.id, r.origin]),
      );
      assert.deepEqual(origins, { run_c: "client", run_h: "hosted", run_o: "one-off", run_m: "mcp" });
      const only = async (origin: "one-off" | "mcp" | "client" | "hosted") =>
        (await s.listRuns("t1", { limit: 10, origin })).items.map((r) => r.id);
      assert.deepEqual(await only("mcp"), ["run_m"]);
      assert.deepEqual(await only("one-off"), ["run_o"]);
      assert.deepEqual(await only("hosted"), ["run_h"]);
      assert.equal((await s.getRun("t1", "run_m"))?.origin, "mcp");
    });

    test("pages through runs with a cursor, never repeating or skipping one", async (s) => {
      for (let i = 0; i < 11; i++) await newRun(s, `run_${String(i).padStart(2, "0")}`);
      await newRun(s, "run_other", { tenant: "t2" });
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await s.listRuns("t1", { limit: 4, cursor });
        assert.ok(page.items.length <= 4);
        seen.push(...page.items.map((r) => r.id));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      assert.equal(pages, 3);
      assert.equal(seen.length, 11);
      assert.equal(new Set(seen).size, 11);
      assert.ok(!seen.includes("run_other"));
      const exact = await s.listRuns("t1", { limit: 11 });
      assert.equal(exact.nextCursor, null, "no cursor when nothing follows");
    });

    test("refuses a cursor it did not issue with InvalidCursorError", async (s) => {
      await newRun(s, "run_a");
      for (const cursor of [
        "garbage!",
        Buffer.from("12:not_a_run").toString("base64url"),
        "",
        "x".repeat(5000),
      ]) {
        if (cursor === "") continue; // an empty cursor means "first page"
        assert.ok(
          (await rejection(s.listRuns("t1", { limit: 5, cursor }))) instanceof InvalidCursorError,
          cursor,
        );
      }
    });

    test("updates only the patched fields and clears a field set to null", async (s) => {
      const run = await newRun(s, "run_a", { metadata: { a: 1 } });
      const failed = await s.updateRun("run_a", {
        status: "failed",
        failure: { kind: "timeout", layer: "infrastructure", message: "slow", retryable: true },
        iterations: 3,
      });
      assert.equal(failed.status, "failed");
      assert.equal(failed.failure?.kind, "timeout");
      assert.equal(failed.iterations, 3);
      assert.deepEqual(failed.metadata, { a: 1 });
      assert.ok(failed.updatedAt >= run.updatedAt);
      const waiting = await s.updateRun("run_a", {
        status: "waiting_for_input",
        waitingFor: { q: "why?" },
        failure: null,
      });
      assert.deepEqual([waiting.failure, waiting.waitingFor, waiting.iterations], [null, { q: "why?" }, 3]);
      const done = await s.updateRun("run_a", {
        status: "succeeded",
        output: { rows: 2 },
        waitingFor: null,
        policyVersion: "v2",
      });
      assert.deepEqual([done.output, done.waitingFor, done.policyVersion], [{ rows: 2 }, null, "v2"]);
      assert.deepEqual(await s.getRun("t1", "run_a"), done);
    });

    test("rejects an update of a missing run with NotFoundError", async (s) => {
      assert.ok((await rejection(s.updateRun("run_missing", { status: "failed" }))) instanceof NotFoundError);
    });

    test("writes a run patch and its announcing event in one transaction", async (s) => {
      await newRun(s, "run_a");
      const before = await s.appendEvent("run_a", "step.started", { seq: 1 });
      const done = await s.updateRun(
        "run_a",
        { status: "succeeded", output: 42 },
        { announce: { type: "run.completed", data: { status: "succeeded" } } },
      );
      assert.equal(done.status, "succeeded");
      const announced = done.announced!;
      assert.deepEqual(
        [announced.runId, announced.type, announced.data, announced.at],
        ["run_a", "run.completed", { status: "succeeded" }, done.updatedAt],
      );
      assert.ok(announced.id > before.id);
      const { announced: _, ...run } = done;
      assert.deepEqual(await s.getRun("t1", "run_a"), run);
      assert.deepEqual(await s.listEvents("run_a", before.id), [announced]);
      const plain = await s.updateRun("run_a", { iterations: 2 });
      assert.equal(plain.announced, undefined, "no event without announce");
      assert.deepEqual(await s.listEvents("run_a", announced.id), []);
    });

    test("appends no event when the announced run patch is fenced out or the run is unknown", async (s) => {
      await newRun(s, "run_a");
      await s.acquireLease("run_a", "A", 60_000);
      const announce = { type: "run.completed", data: { status: "failed" } };
      assert.ok(
        (await rejection(
          s.updateRun("run_a", { status: "failed" }, { leaseOwner: "B", announce }),
        )) instanceof FencedError,
      );
      assert.ok(
        (await rejection(s.updateRun("run_missing", { status: "failed" }, { announce }))) instanceof
          NotFoundError,
      );
      assert.equal((await s.getRunById("run_a"))!.status, "running");
      assert.deepEqual(await s.listEvents("run_a", 0), []);
      assert.deepEqual(await s.listEvents("run_missing", 0), []);
      const held = await s.updateRun("run_a", { status: "failed" }, { leaseOwner: "A", announce });
      assert.deepEqual(
        (await s.listEvents("run_a", 0)).map((e) => e.type),
        ["run.completed"],
      );
      assert.equal(held.announced?.type, "run.completed");
    });

    test("lists runs in a status across tenants, oldest first", async (s) => {
      await newRun(s, "run_1");
      await newRun(s, "run_2", { tenant: "t2" });
      await newRun(s, "run_3");
      await s.updateRun("run_3", { status: "cancelled" });
      const running = await s.runsByStatus("running");
      assert.deepEqual(running.map((r) => r.id).sort(), ["run_1", "run_2"]);
      assert.ok(running[0]!.createdAt <= running[1]!.createdAt);
      assert.deepEqual(
        (await s.runsByStatus("cancelled")).map((r) => r.id),
        ["run_3"],
      );
    });
  });

  t.describe("leases", () => {
    test("grants a free lease, refuses another owner until it expires, and renews for its holder", async (s) => {
      await newRun(s, "run_a");
      const t0 = Date.now();
      assert.equal(await s.acquireLease("run_a", "A", 60_000), true);
      const held = (await s.getRunById("run_a"))!;
      assert.equal(held.leaseOwner, "A");
      assert.ok(held.leaseExpiresAt! >= t0 + 60_000);
      assert.equal(await s.acquireLease("run_a", "B", 60_000), false);
      assert.equal(await s.acquireLease("run_a", "A", 120_000), true, "the holder renews");
      assert.ok((await s.getRunById("run_a"))!.leaseExpiresAt! >= t0 + 120_000);
      assert.equal(await s.acquireLease("run_missing", "A", 1000), false);
    });

    test("lets another owner take an expired lease", async (s) => {
      await newRun(s, "run_a");
      assert.equal(await s.acquireLease("run_a", "A", 1), true);
      await untilPast((await s.getRunById("run_a"))!.leaseExpiresAt!);
      assert.equal(await s.acquireLease("run_a", "B", 60_000), true);
      assert.equal((await s.getRunById("run_a"))!.leaseOwner, "B");
    });

    test("lets a claimant replace a holder known to be dead before its lease expires", async (s) => {
      await newRun(s, "run_a");
      await s.acquireLease("run_a", "A", 60_000);
      assert.equal(await s.acquireLease("run_a", "B", 60_000, "C"), false, "C is not the holder");
      assert.equal(await s.acquireLease("run_a", "B", 60_000, "A"), true);
      assert.equal((await s.getRunById("run_a"))!.leaseOwner, "B");
    });

    test("releases only its holder's lease", async (s) => {
      await newRun(s, "run_a");
      await s.acquireLease("run_a", "A", 60_000);
      await s.releaseLease("run_a", "B");
      assert.equal((await s.getRunById("run_a"))!.leaseOwner, "A");
      await s.releaseLease("run_a", "A");
      const free = (await s.getRunById("run_a"))!;
      assert.deepEqual([free.leaseOwner, free.leaseExpiresAt], [null, null]);
      assert.equal(await s.acquireLease("run_a", "B", 60_000), true);
    });

    test("fences a run update to its lease holder", async (s) => {
      await newRun(s, "run_a");
      await s.acquireLease("run_a", "A", 60_000);
      assert.equal((await s.updateRun("run_a", { iterations: 1 }, { leaseOwner: "A" })).iterations, 1);
      assert.ok(
        (await rejection(s.updateRun("run_a", { iterations: 2 }, { leaseOwner: "B" }))) instanceof
          FencedError,
      );
      await s.acquireLease("run_a", "B", 60_000, "A");
      assert.ok(
        (await rejection(s.updateRun("run_a", { iterations: 3 }, { leaseOwner: "A" }))) instanceof
          FencedError,
      );
      assert.equal((await s.getRunById("run_a"))!.iterations, 1, "a fenced write writes nothing");
      assert.ok(
        (await rejection(s.updateRun("run_nope", { iterations: 1 }, { leaseOwner: "A" }))) instanceof
          NotFoundError,
      );
    });
  });
}
