// The engine's socket cut while a job runs (a proxy in front of the machine's engine, never the engine itself):
// a job that finished during the cut is adopted (one start, attempt 1), and no container is left behind.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { finished } from "node:stream/promises";
import Docker from "dockerode";
import { MultiEngineRunner, DEFAULT_CONTAINER_LIMITS } from "@mend/sandboxes/docker";
import { startEngineProxy, type EngineProxy } from "../support/engine-proxy.ts";
import { startService } from "../support/service-process.ts";
import { startFakeLlm } from "../support/fake-llm.ts";
import { finish, runCode } from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";

const docker = new Docker({ socketPath: "/var/run/docker.sock" });
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const T0 = Date.now();
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined && v !== false) {
      if (process.env.DEBUG_CUT) console.error(Date.now() - T0, "ms:", what);
      return v;
    }
    await delay(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const byLabel = (label: string) => docker.listContainers({ all: true, filters: { label: [label] } });

/** The one idle pool container of `owner` (the next job takes it). */
async function poolContainer(owner: string): Promise<string> {
  const list = await until("the warm pool", async () => {
    const l = await byLabel(owner);
    return l.length === 1 && l[0]!.State === "running" ? l : undefined;
  });
  return list[0]!.Id;
}

/**
 * The job: says it is running (stderr), then waits for the test to open its gate (a file the test creates
 * through the real engine while the proxy is cut), so it can only finish while the runner cannot see it —
 * however slow the machine (a fixed sleep let a loaded machine finish the job before the cut).
 */
const GATED_JOB = [
  "import os, sys, time",
  "print('gate: waiting', file=sys.stderr, flush=True)",
  "while not os.path.exists('/tmp/gate'): time.sleep(0.05)",
  "print(6*7)",
].join("\n");

const logsOf = async (id: string) =>
  (await docker.getContainer(id).logs({ stdout: true, stderr: true })).toString("latin1");

/**
 * Cuts the proxy once the job waits at its gate in container `id` and the pool has refilled (`refilled`),
 * opens the gate on the real engine, restores the proxy once the job has finished there (its end marker in
 * the logs): the job finished while the runner could not see it.
 */
async function cutWhileItFinishes(proxy: EngineProxy, id: string, refilled: () => boolean): Promise<void> {
  await until("the pool to refill (the job took the idle container)", async () => refilled());
  await until("the job waiting at its gate", async () =>
    (await logsOf(id)).includes("gate: waiting") ? true : undefined,
  );
  proxy.cut();
  try {
    const exec = await docker.getContainer(id).exec({
      Cmd: ["python3", "-c", "open('/tmp/gate', 'w').close()"],
      AttachStdout: true,
      AttachStderr: true,
    });
    // the exec's output stream ends when it has run (left unread, it would hold its socket open)
    const stream = await exec.start({});
    stream.resume();
    await finished(stream).catch(() => undefined);
    // finished: the launcher wrote its end marker (the container may still be held open for the host)
    await until("the job to finish during the cut", async () =>
      (await logsOf(id)).includes("\x1eMEND-END:") ? true : undefined,
    );
  } finally {
    proxy.restore();
  }
}

void describe("engine socket cut", () => {
  it("runner: the finished job's result is adopted, the broken pool is replaced, nothing leaks", async () => {
    const proxy = await startEngineProxy("/var/run/docker.sock");
    cleanups.push(() => proxy.close());
    const ownerId = `cut_${Math.random().toString(16).slice(2, 10)}`;
    const runner = new MultiEngineRunner({
      ownerId,
      engines: [{ name: "local", url: `unix://${proxy.socketPath}` }],
      pool: { python: 1 },
      outageMs: 60_000,
    });
    cleanups.push(() => runner.dispose());
    await runner.start();
    await runner.poolReady();
    const jobContainer = await poolContainer(`mend.owner=${ownerId}`);
    const running = runner.run({
      image: "python",
      code: GATED_JOB,
      limits: { ...DEFAULT_CONTAINER_LIMITS, timeoutMs: 120_000 },
      labels: { "mend.test": ownerId },
    });
    // the pooled container takes the job; the pool refills with a second one
    await cutWhileItFinishes(proxy, jobContainer, () => runner.engines()[0]!.containers >= 2);
    const out = await running;
    assert.equal(out.status, "succeeded", JSON.stringify(out));
    assert.equal(out.stdout, "42\n");
    assert.equal(out.usage.adopted, true);
    // the pool's idle container broke with the cut: it is removed, and one fresh idle container remains
    await until("only the refilled pool container left", async () => {
      const list = await byLabel(`mend.owner=${ownerId}`);
      return list.length === 1 && list[0]!.State === "running" ? true : undefined;
    });
    await runner.dispose();
    assert.equal((await byLabel(`mend.owner=${ownerId}`)).length, 0);
  });

  it("service: a hosted run's job that finished during the cut is adopted (one start, attempt 1)", async () => {
    const proxy = await startEngineProxy("/var/run/docker.sock");
    cleanups.push(() => proxy.close());
    const llm = await startFakeLlm({
      script: (_req, turn) => (turn === 0 ? runCode("python", GATED_JOB) : finish("done")),
    });
    cleanups.push(() => llm.close());
    const svc = await startService({
      MEND_DOCKER_SOCKET: proxy.socketPath,
      MEND_POOL_SIZE: "1",
      MEND_ENGINE_OUTAGE_MS: "60000",
      MEND_LLM_PROVIDER: "openai",
      MEND_LLM_BASE_URL: llm.url,
      MEND_LLM_MODEL: "fake",
    });
    cleanups.push(() => svc.stop("SIGKILL"));
    const pid = svc.child.pid!;
    const owner = `mend.owner.pid=${pid}`;
    const jobContainer = await poolContainer(owner);
    const created = await call(svc.url, "POST", "/v1/runs", { mode: "hosted", goal: "socket-cut adopt" });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    let refilled = false;
    void until("the pool to refill (the job took the idle container)", async () =>
      (await byLabel(owner)).length >= 2 ? true : undefined,
    ).then(
      () => (refilled = true),
      () => undefined,
    );
    await cutWhileItFinishes(proxy, jobContainer, () => refilled);
    const run = await until("the run to end", async () => {
      const r = await call(svc.url, "GET", `/v1/runs/${id}`);
      return r.body.status === "running" || r.body.status === "queued" ? undefined : r.body;
    }).catch(async (err: Error) => {
      const steps = (await call(svc.url, "GET", `/v1/runs/${id}/steps`)).body;
      const run = (await call(svc.url, "GET", `/v1/runs/${id}`)).body;
      throw new Error(
        `${err.message}: ${JSON.stringify(run)} ${JSON.stringify(steps)} ${svc.logs.slice(-15).join("\n")}`,
      );
    });
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    const steps = (await call(svc.url, "GET", `/v1/runs/${id}/steps`)).body as any[];
    const containerSteps = steps.filter((s) => s.kind === "container");
    assert.equal(containerSteps.length, 1, "one start: the job was not run again");
    assert.equal(containerSteps[0].attempts ?? containerSteps[0].attempt ?? 1, 1);
    assert.equal(containerSteps[0].status, "succeeded");
    assert.equal(containerSteps[0].output.stdout, "42\n");
    assert.equal(containerSteps[0].output.usage.adopted, true);
    assert.equal(containerSteps[0].output.usage.engine, "local");
    await until("only the refilled pool container left", async () => {
      const list = await byLabel(owner);
      return list.length === 1 && list[0]!.State === "running" ? true : undefined;
    });
    await svc.stop();
    assert.equal((await byLabel(owner)).length, 0, "nothing leaks");
  });
});
