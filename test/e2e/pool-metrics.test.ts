// The adaptive warm pool as an operator sees it: /metrics reports its target, bounds and memory, the target
// grows under a burst of executions over HTTP (never past MEND_POOL_MAX), and a stopped service leaves no
// pooled container behind.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { promisify } from "node:util";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { call } from "../support/http-json.ts";
import { parseExposition, type Scrape } from "../support/prometheus-text.ts";

const exec = promisify(execFile);
const PYTHON = { image: "python", runtime: "runc", engine: "local" };
let svc: ServiceProcess;

before(async () => {
  svc = await startService({ MEND_POOL_SIZE: "1", MEND_POOL_MAX: "3", MEND_POOL_IDLE_MS: "600000" });
});
after(async () => {
  if (svc) rmSync(svc.dataDir, { recursive: true, force: true });
});

async function scrape(): Promise<Scrape> {
  const res = await fetch(`${svc.url}/metrics`);
  assert.equal(res.status, 200);
  return parseExposition(await res.text());
}

async function untilScrape(check: (s: Scrape) => boolean, what: string): Promise<Scrape> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const s = await scrape();
    if (check(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const pooledOf = async (pid: number) =>
  (
    await exec("docker", [
      "ps",
      "-aq",
      "--filter",
      "label=mend.pooled=1",
      "--filter",
      `label=mend.owner.pid=${pid}`,
    ])
  ).stdout
    .split("\n")
    .filter(Boolean).length;

describe("the warm pool in /metrics", () => {
  it("reports the pool's bounds, target and memory, and its growth under a burst", async () => {
    const idle = await untilScrape(
      (s) =>
        s.value("mend_pool_idle_containers", { image: "python" }) === 1 &&
        s.value("mend_pool_memory_bytes", PYTHON) > 0,
      "the minimum made and measured",
    );
    assert.equal(idle.families.get("mend_pool_target_containers")?.type, "GAUGE");
    assert.equal(idle.value("mend_pool_min_containers", PYTHON), 1);
    assert.equal(idle.value("mend_pool_max_containers", PYTHON), 3);
    assert.equal(idle.value("mend_pool_target_containers", PYTHON), 1);
    assert.ok(
      idle.value("mend_pool_container_memory_bytes", PYTHON) > 1024 * 1024,
      "an idle container's memory",
    );

    const outs = await Promise.all(
      Array.from({ length: 4 }, () =>
        call(svc.url, "POST", "/v1/executions", {
          sandbox: "container",
          image: "python",
          code: "print(6*7)",
        }),
      ),
    );
    for (const o of outs) assert.equal((o.body as { stdout?: string }).stdout, "42\n");
    const grown = await untilScrape(
      (s) =>
        s.value("mend_pool_target_containers", PYTHON) > 1 &&
        s.value("mend_pool_idle_containers", { image: "python" }) ===
          s.value("mend_pool_target_containers", PYTHON),
      "the grown pool refilled",
    );
    assert.ok(grown.value("mend_pool_target_containers", PYTHON) <= 3, "never past MEND_POOL_MAX");
    assert.ok(grown.value("mend_pool_requests_total", { image: "python", result: "miss" }) >= 1);
  });

  it("leaves no pooled container behind when the service stops", async () => {
    const pid = svc.child.pid!;
    assert.ok((await pooledOf(pid)) >= 1);
    await svc.stop();
    assert.equal(await pooledOf(pid), 0);
  });
});
