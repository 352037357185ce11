// Retries under injected faults never execute twice: idempotency keys and step keys make every retry safe.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startFaultProxy, type FaultAction, type FaultProxy } from "../support/client-proxy.ts";
import { Mend } from "../../client/src/index.ts";

let svc: ServiceProcess;
before(async () => {
  svc = await startService();
});
after(async () => svc.stop());

/** Executions the service actually performed: every attempt of every code-mode step, from its journal. */
function executions(): number {
  const db = new DatabaseSync(join(svc.dataDir, "mend.db"), { readOnly: true });
  try {
    const row = db
      .prepare("SELECT COALESCE(SUM(attempt), 0) AS n FROM steps WHERE kind = 'codemode'")
      .get() as { n: number };
    return Number(row.n);
  } finally {
    db.close();
  }
}

/** A proxy applying `fault` to the first `times` requests that match `method path-suffix`. */
async function faulty(
  match: (method: string, path: string) => boolean,
  fault: FaultAction,
  times: number,
): Promise<FaultProxy> {
  let left = times;
  return startFaultProxy(svc.url, (req) => {
    if (left > 0 && match(req.method ?? "", req.url ?? "")) {
      left--;
      return fault;
    }
    return "forward";
  });
}

const client = (p: FaultProxy) =>
  new Mend({ baseUrl: p.url, retries: { attempts: 5, baseDelayMs: 5, maxDelayMs: 50 } });

describe("retries of transient errors", () => {
  it("retries 503s with the same idempotency key and executes once", async () => {
    const proxy = await faulty((m, p) => m === "POST" && p === "/v1/executions", "503", 3);
    try {
      const before = executions();
      const res = await client(proxy).execute({ sandbox: "codemode", code: "return 7" });
      assert.equal(res.result, 7);
      assert.equal(executions() - before, 1);
      const keys = new Set(
        proxy.seen.filter((s) => s.line === "POST /v1/executions").map((s) => s.headers["idempotency-key"]),
      );
      assert.equal(keys.size, 1, "every retry carries the first attempt's key");
      assert.equal(proxy.seen.length, 4);
    } finally {
      await proxy.close();
    }
  });

  it("honours 429 with Retry-After", async () => {
    const proxy = await faulty((m) => m === "GET", "429", 2);
    try {
      assert.equal((await client(proxy).health()).ok, true);
      assert.equal(proxy.seen.length, 3);
    } finally {
      await proxy.close();
    }
  });

  it("replays a step whose response was lost after it executed, instead of executing it again", async () => {
    const proxy = await faulty((m, p) => m === "POST" && p.endsWith("/steps"), "drop-after-forward", 2);
    try {
      const run = await client(proxy).runs.open(`lost-step-${Date.now()}`);
      const before = executions();
      const res = await run.execute("compute", {
        type: "codemode",
        code: "return Math.random() < 2 ? 'once' : 'never'",
      });
      assert.equal(res.result, "once");
      assert.equal(res.replayed, true, "the answer came from the journal");
      assert.equal(res.attempts, 1);
      assert.equal(executions() - before, 1);
    } finally {
      await proxy.close();
    }
  });

  it("creates one run when the creation's response is lost", async () => {
    const proxy = await faulty((m, p) => m === "POST" && p === "/v1/runs", "drop-after-forward", 1);
    try {
      const name = `lost-create-${Date.now()}`;
      const run = await client(proxy).runs.open(name);
      const direct = new Mend({ baseUrl: svc.url });
      const same = (await direct.runs.list({ limit: 200 })).items.filter(
        (r) => (r.metadata as { name?: string } | null)?.name === name,
      );
      assert.deepEqual(
        same.map((r) => r.id),
        [run.id],
      );
    } finally {
      await proxy.close();
    }
  });

  it("runs a checkpointed step's function once when the checkpoint's response is lost", async () => {
    const proxy = await faulty((m) => m === "PUT", "drop-after-forward", 1);
    try {
      const run = await client(proxy).runs.open(`lost-checkpoint-${Date.now()}`);
      let calls = 0;
      assert.equal(await run.step("expensive", () => ++calls), 1);
      assert.equal(await run.step("expensive", () => ++calls), 1);
      assert.equal(calls, 1);
    } finally {
      await proxy.close();
    }
  });

  it("executes a one-off execution once when its response is lost", async () => {
    const proxy = await faulty((m, p) => m === "POST" && p === "/v1/executions", "drop-after-forward", 1);
    try {
      const before = executions();
      const res = await client(proxy).execute({ sandbox: "codemode", code: "return 1" });
      assert.equal(res.result, 1);
      assert.equal(executions() - before, 1);
    } finally {
      await proxy.close();
    }
  });
});
