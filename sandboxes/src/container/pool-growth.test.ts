// The adaptive warm pool against the real Docker engine: it grows under a burst, never past its maximum,
// serves the next burst warm, shrinks back when idle, reports its memory and leaves no container behind.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import Docker from "dockerode";
import { DEFAULT_CONTAINER_LIMITS, DockerRunner } from "./docker-runner.ts";
import type { ContainerJob, PoolState } from "./runner.ts";

const docker = new Docker({ socketPath: "/var/run/docker.sock" });
const job: ContainerJob = {
  image: "python",
  code: "print(6*7)",
  limits: { ...DEFAULT_CONTAINER_LIMITS, timeoutMs: 60_000 },
};
const DEADLINE_MS = 120_000;
const runners: DockerRunner[] = [];

after(async () => {
  for (const r of runners) {
    await r.dispose();
    const left = await docker.listContainers({ all: true, filters: { label: [`mend.owner=${r.ownerId}`] } });
    assert.equal(left.length, 0, "dispose removes every container of the runner");
  }
});

function newRunner(opts: ConstructorParameters<typeof DockerRunner>[0]): DockerRunner {
  const r = new DockerRunner(opts);
  runners.push(r);
  return r;
}

function python(r: DockerRunner): PoolState {
  const s = r.poolStats().find((p) => p.image === "mend-runtime-python:latest" && p.runtime === "runc");
  assert.ok(s, "the python pool is reported");
  return s;
}

/** Polls `cond` until it holds (generous deadline); returns the last state seen. */
async function until(r: DockerRunner, what: string, cond: (s: PoolState) => boolean): Promise<PoolState> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const s = python(r);
    if (cond(s)) return s;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(s)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Samples the pool all along, to check a bound at every moment rather than at the end. */
function sampler(r: DockerRunner): { stop(): PoolState[] } {
  const seen: PoolState[] = [];
  const timer = setInterval(() => seen.push(python(r)), 10);
  return {
    stop() {
      clearInterval(timer);
      return seen;
    },
  };
}

async function burst(r: DockerRunner, n: number): Promise<boolean[]> {
  const outs = await Promise.all(Array.from({ length: n }, () => r.run(job)));
  for (const o of outs) {
    assert.equal(o.status, "succeeded", o.stderr);
    assert.equal(o.stdout, "42\n");
  }
  return outs.map((o) => o.pooled);
}

void describe("adaptive warm pool", () => {
  void test("a burst grows the pool to its maximum and no further; the next burst is served warm", async () => {
    const r = newRunner({ pool: { python: 1 }, poolMax: 3, poolIdleMs: 600_000 });
    await r.start();
    await until(r, "the minimum is made", (s) => s.idle === 1);
    const samples = sampler(r);
    await burst(r, 6);
    const grown = await until(r, "the pool grows to its maximum", (s) => s.idle === 3 && s.creating === 0);
    assert.equal(grown.target, 3);
    assert.ok(grown.misses >= 2, `misses counted (${grown.misses})`);
    const pooled = await burst(r, 3);
    assert.deepEqual(pooled, [true, true, true], "three at once, all warm");
    await until(r, "refilled", (s) => s.idle === 3 && s.inUse === 0);
    for (const s of samples.stop()) {
      assert.ok(s.target <= 3, `target ${s.target} within the maximum`);
      assert.ok(s.idle + s.creating <= 3, `held ${s.idle} + making ${s.creating} within the maximum`);
    }
    const engineSide = await docker.listContainers({
      filters: { label: [`mend.owner=${r.ownerId}`, "mend.pooled=1"], status: ["running"] },
    });
    assert.ok(engineSide.length >= 3, "the engine runs the pooled containers");
    const measured = await until(r, "idle memory is measured", (s) => s.memoryBytes > 0);
    assert.ok(measured.memoryPerContainerBytes! > 1024 * 1024, "an idle python container holds over 1 MiB");
    assert.ok(
      measured.memoryBytes >= measured.memoryPerContainerBytes!,
      "the pool's total counts its containers",
    );
  });

  void test("an idle grown pool shrinks back to its minimum", async () => {
    const r = newRunner({ pool: { python: 1 }, poolMax: 3, poolIdleMs: 1000 });
    await r.start();
    await until(r, "the minimum is made", (s) => s.idle === 1);
    const samples = sampler(r);
    await burst(r, 4);
    await until(r, "the burst is over", (s) => s.inUse === 0);
    const peak = Math.max(...samples.stop().map((s) => s.target));
    assert.ok(peak > 1, `the pool grew under the burst (to ${peak})`);
    const back = await until(
      r,
      "the pool shrinks",
      (s) => s.target === 1 && s.idle === 1 && s.creating === 0,
    );
    assert.equal(back.min, 1);
    // the engine agrees: only the minimum keeps running (used and surplus containers are removed)
    const deadline = Date.now() + DEADLINE_MS;
    let running = Infinity;
    while (running > 1 && Date.now() < deadline) {
      const list = await docker.listContainers({
        filters: { label: [`mend.owner=${r.ownerId}`, "mend.pooled=1"], status: ["running"] },
      });
      running = list.length;
      if (running > 1) await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(running, 1);
  });

  void test("a memory budget smaller than one container keeps the pool at its minimum", async () => {
    const r = newRunner({ pool: { python: 1 }, poolMax: 4, poolMemoryMb: 1, poolIdleMs: 600_000 });
    await r.start();
    await until(r, "the minimum is made", (s) => s.idle === 1);
    await burst(r, 4);
    const s = await until(r, "refilled", (x) => x.idle === 1 && x.inUse === 0 && x.creating === 0);
    assert.equal(s.target, 1, "no growth past the budget");
    assert.ok(s.misses >= 1);
  });

  void test("refills and the removal of a used container wait while a job of the burst still runs", async () => {
    // a hold longer than the test: what happens is decided by the jobs in flight, never by a timer
    const r = newRunner({ pool: { python: 2 }, poolIdleMs: 600_000, burstHoldMs: 600_000 });
    await r.start();
    await until(r, "the pool is made", (s) => s.idle === 2 && s.creating === 0);
    const owned = async () =>
      (await docker.listContainers({ all: true, filters: { label: [`mend.owner=${r.ownerId}`] } })).map(
        (c) => c.Id,
      );
    const first = await owned();
    assert.equal(first.length, 2);
    const stop = new AbortController();
    const long = r.run({
      ...job,
      code: "import time\nwhile True:\n    time.sleep(0.05)\n",
      signal: stop.signal,
    });
    const short = await r.run(job);
    assert.equal(short.status, "succeeded");
    assert.equal(short.pooled, true);
    // the long job runs: no refill was started and the short job's container is not yet removed
    const during = python(r);
    assert.deepEqual([during.idle, during.creating, during.inUse], [0, 0, 1]);
    assert.deepEqual((await owned()).sort(), [...first].sort(), "both used containers still exist");
    stop.abort();
    const aborted = await long;
    assert.equal(aborted.status, "failed");
    // the burst has drained: both are removed and the pool is refilled with new containers
    await until(r, "refilled", (s) => s.idle === 2 && s.creating === 0 && s.inUse === 0);
    const deadline = Date.now() + DEADLINE_MS;
    let now = await owned();
    while (now.some((id) => first.includes(id)) && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 100));
      now = await owned();
    }
    assert.equal(now.filter((id) => first.includes(id)).length, 0, "the used containers are removed");
    assert.equal(now.length, 2, "only the refilled pool is left");
  });
});
