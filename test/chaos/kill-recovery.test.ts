// Crash-proof, shown with real processes: the service is SIGKILLed at random moments (20+ times) while
// clients drive runs and retry; at the end every step ran to completion exactly once.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { call } from "../support/http-json.ts";

const RUNS = 6;
const STEPS = 8;
const KILLS = 20;

/** A loopback tool that takes a little time and records each call by its Idempotency-Key. */
function counterTool(): Promise<{ server: Server; url: string; calls: Map<string, number> }> {
  const calls = new Map<string, number>();
  const server = createServer((req, res) => {
    const key = String(req.headers["idempotency-key"] ?? "");
    calls.set(key, (calls.get(key) ?? 0) + 1);
    req.resume();
    setTimeout(
      () => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ ok: true, key }));
      },
      20 + Math.random() * 80,
    );
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({ server, url: `http://127.0.0.1:${port}/effect`, calls });
    }),
  );
}

let svc: ServiceProcess | null = null;
let tool: Awaited<ReturnType<typeof counterTool>> | null = null;
after(async () => {
  await svc?.stop("SIGKILL");
  tool?.server.close();
});

describe("kill -9 at random moments", () => {
  it("finishes every step exactly once across 20 crashes with clients retrying", async () => {
    tool = await counterTool();
    const policies = mkdtempSync(join(tmpdir(), "mend-policies-"));
    // 20 kills may hit one step many times: the attempt cap (attempts_exhausted) is not what this test is about.
    writeFileSync(
      join(policies, "default.yaml"),
      'name: default\ntools:\n  allow: ["**"]\nlimits: { maxAttempts: 1000 }\n',
    );
    const env = { MEND_POLICIES_DIR: policies, MEND_SHUTDOWN_GRACE_MS: "0" };
    svc = await startService(env);
    const dataDir = svc.dataDir;
    const reg = await call(svc.url, "POST", "/v1/tools", {
      name: "effect",
      description: "records a side effect",
      inputSchema: { type: "object", properties: { run: { type: "integer" }, step: { type: "integer" } } },
      endpoint: tool.url,
    });
    assert.ok(reg.status === 201 || reg.status === 200, JSON.stringify(reg.body));

    let url = svc.url;
    /** Retries like a client would: on connection errors, wait and try again against the current process. */
    const retrying = async (method: string, path: string, body?: unknown) => {
      for (;;) {
        try {
          const r = await call(url, method, path, body);
          if (r.status < 500) return r;
        } catch {
          /* the service is down: retry */
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    const runIds: string[] = [];
    for (let r = 0; r < RUNS; r++) {
      runIds.push(
        (await retrying("POST", "/v1/runs", { mode: "client", goal: `chaos ${r}` })).body.id as string,
      );
    }
    let finished = false;
    const drivers = runIds.map(async (id, r) => {
      for (let s = 0; s < STEPS; s++) {
        const res = await retrying("POST", `/v1/runs/${id}/steps`, {
          key: `step-${s}`,
          action: { type: "tool", tool: "effect", args: { run: r, step: s } },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
    });
    const killer = (async () => {
      for (let k = 0; k < KILLS; k++) {
        await new Promise((r) => setTimeout(r, 80 + Math.random() * 250));
        await svc.stop("SIGKILL");
        svc = await startService(env, dataDir);
        url = svc.url;
      }
      finished = true;
    })();
    await Promise.all([...drivers, killer]);
    assert.equal(finished, true);

    // The journal: every run has every step exactly once, succeeded.
    for (const id of runIds) {
      const steps = (await call(url, "GET", `/v1/runs/${id}/steps`)).body as {
        key: string;
        status: string;
        attempt: number;
        seq: number;
      }[];
      assert.deepEqual(
        steps.map((s) => s.key).sort(),
        Array.from({ length: STEPS }, (_, s) => `step-${s}`).sort(),
      );
      for (const s of steps) assert.equal(s.status, "succeeded", `${id} ${s.key}`);
      // Side effects: one idempotency key per step; a key called twice only where the step was re-attempted.
      for (const s of steps) {
        const n: number = tool.calls.get(`${id}/${s.seq}/1`) ?? 0;
        assert.ok(n >= 1, `${id} ${s.key} reached the tool`);
        if (s.attempt === 1) assert.equal(n, 1, `${id} ${s.key} ran once`);
      }
    }
    const keysPerStep = [...tool.calls.keys()].filter((k) => runIds.some((id) => k.startsWith(`${id}/`)));
    assert.equal(keysPerStep.length, RUNS * STEPS, "exactly one side-effect key per completed step");

    await svc.stop();
    svc = null;
    const db = new DatabaseSync(join(dataDir, "mend.db"));
    assert.equal(
      (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check,
      "ok",
    );
    const blobs = db.prepare("SELECT sha256 FROM blobs").all() as { sha256: string }[];
    db.close();
    for (const b of blobs)
      assert.ok(
        existsSync(join(dataDir, "blobs", b.sha256.slice(0, 2), b.sha256)),
        `blob ${b.sha256} exists`,
      );
  });
});
