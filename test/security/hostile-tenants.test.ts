// Two tenants, one hostile: for 30 s tenant A floods the service (64 scripts awaiting tools, 8 relay executions
// with catastrophic patterns, deep payloads on every bridge direction) while tenant B runs trivial code-mode and
// container executions. None of B's fails or times out, the process never exits, /healthz answers throughout.
// Outcomes only: B's latencies alone and under the flood are the fairness benchmark's (test/bench/fairness-bench.ts).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { call } from "../support/http-json.ts";
import { floodPolicies, startFlood, trivial, type TrivialKind } from "../support/hostile-tenant.ts";
import { createKey, startService, type ServiceProcess } from "../support/service-process.ts";

const FLOOD_MS = 30_000;
const SLEEPERS = 64;

let svc: ServiceProcess;
let keyA: string;
let keyB: string;

before(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "mend-hostile-tenants-"));
  const env = { MEND_DATA_DIR: dataDir, MEND_POLICIES_DIR: floodPolicies() };
  [keyA, keyB] = await Promise.all([
    createKey(env, "tenant-a", "flood"),
    createKey(env, "tenant-b", "default"),
  ]);
  svc = await startService(env, dataDir);
});
after(async () => {
  await svc.stop();
});

describe("a hostile tenant cannot kill, starve or freeze the service for another", () => {
  it(
    "B's code-mode and container executions all succeed during A's 30 s flood; the process stays up; /healthz answers",
    { timeout: 180_000 },
    async () => {
      // Warm both engines and the container image outside the flood.
      for (const kind of ["quickjs", "v8", "container"] as const) await trivial(svc.url, keyB, kind);

      const flood = startFlood({ url: svc.url, key: keyA, sleepers: SLEEPERS, relays: 8, sleepMs: 20_000 });
      const health: number[] = [];
      let sawParked = 0;
      let polling = true;
      const poller = (async () => {
        while (polling) {
          try {
            const r = await call(svc.url, "GET", "/healthz");
            health.push(r.status);
            const parked = r.body?.sandboxes?.codemode?.quickjs?.tenants?.["tenant-a"]?.parked ?? 0;
            sawParked = Math.max(sawParked, parked);
          } catch {
            health.push(0);
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      })();

      const kinds: TrivialKind[] = ["quickjs", "v8", "container"];
      const bFailures: string[] = [];
      const bDone: Record<TrivialKind, number> = { quickjs: 0, v8: 0, container: 0 };
      const end = performance.now() + FLOOD_MS;
      // One client per kind, in parallel: code-mode does not wait behind B's own containers.
      await Promise.all(
        kinds.map(async (kind) => {
          while (performance.now() < end) {
            try {
              await trivial(svc.url, keyB, kind);
              bDone[kind] += 1;
            } catch (e) {
              bFailures.push((e as Error).message);
            }
          }
        }),
      );
      const report = await flood.stop();
      polling = false;
      await poller;

      assert.deepEqual(bFailures, [], "every execution of B succeeded");
      for (const kind of kinds) assert.ok(bDone[kind] > 0, `B ran ${kind} executions during the flood`);
      assert.equal(svc.child.exitCode, null, "the service process is alive");
      assert.ok(health.length > 0);
      assert.deepEqual([...new Set(health)], [200], "/healthz answered 200 every time");
      assert.equal(report.serverErrors, 0, JSON.stringify(report.outcomes));
      // A's flood really held the sandbox: its awaiting scripts were parked, not queued behind workers.
      assert.ok(sawParked >= SLEEPERS / 2, `A's parked scripts seen in /healthz: ${sawParked}`);
      // A's own payloads got their structured answers.
      const outcomes = Object.keys(report.outcomes);
      for (const expected of [
        "200 succeeded",
        "200 failed:tool_input_invalid",
        "200 failed:runtime_error",
        "400",
      ]) {
        assert.ok(outcomes.includes(expected), `${expected} in ${JSON.stringify(report.outcomes)}`);
      }
      console.log(JSON.stringify({ bDone, flood: report.outcomes, healthPolls: health.length, sawParked }));
    },
  );
});
