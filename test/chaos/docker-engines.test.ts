// Two Docker engines (the machine's and a dockerd of this test): the conformance suite on both, placement
// over both, and SIGKILL of the second dockerd under hosted runs, which end `succeeded` on the first.
import * as t from "node:test";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import Docker from "dockerode";
import { MultiEngineRunner, DEFAULT_CONTAINER_LIMITS } from "@mend/sandboxes/docker";
import { runContainerRunnerConformance } from "@mend/sandboxes/testing";
import { startSecondDockerd, type SecondDockerd } from "../support/second-dockerd.ts";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { finish, runCode } from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";

const local = new Docker({ socketPath: "/var/run/docker.sock" });
let d2: SecondDockerd;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  d2 = await startSecondDockerd();
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await d2?.stop();
});

const engines = () => [
  { name: "local", url: "unix:///var/run/docker.sock" },
  { name: "second", url: `unix://${d2.socketPath}` },
];

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    await delay(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Mend containers of one service process on one engine. */
async function containersOf(docker: Docker, pid: number): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`mend.owner.pid=${pid}`] } });
}

runContainerRunnerConformance(t, "MultiEngineRunner, two engines", {
  engines: () => [local, d2.docker],
  engineNames: ["local", "second"],
  async make(ownerId) {
    const runner = new MultiEngineRunner({ ownerId, engines: engines(), pool: { python: 1 } });
    await runner.start();
    return runner;
  },
});

void describe("two engines", () => {
  it("places jobs on both engines", async () => {
    const runner = new MultiEngineRunner({ engines: engines() });
    cleanups.push(() => runner.dispose());
    await runner.start();
    const limits = { ...DEFAULT_CONTAINER_LIMITS, timeoutMs: 60_000 };
    const outs = await Promise.all(
      Array.from({ length: 6 }, () =>
        runner.run({ image: "python", code: "import time; time.sleep(1)", limits }),
      ),
    );
    assert.deepEqual(
      outs.map((o) => o.status),
      outs.map(() => "succeeded"),
    );
    const used = new Set(outs.map((o) => o.usage.engine));
    assert.deepEqual([...used].sort(), ["local", "second"]);
    assert.deepEqual(
      runner.engines().map((e) => [e.name, e.state]),
      [
        ["local", "up"],
        ["second", "up"],
      ],
    );
  });

  it("SIGKILL of the second dockerd: hosted runs on it end succeeded on the first, nothing left behind", async () => {
    const RUNS = 4;
    const llm: FakeLlm = await startFakeLlm({
      script: (_req, turn) =>
        turn === 0 ? runCode("python", "import time; time.sleep(4); print(6*7)") : finish("done"),
    });
    cleanups.push(() => llm.close());
    const svc: ServiceProcess = await startService({
      MEND_DOCKER_HOSTS: engines()
        .map((e) => `${e.name}=${e.url}`)
        .join(","),
      MEND_LLM_PROVIDER: "openai",
      MEND_LLM_BASE_URL: llm.url,
      MEND_LLM_MODEL: "fake",
    });
    cleanups.push(() => svc.stop("SIGKILL"));
    const pid = svc.child.pid!;
    await until("both engines up in /healthz", async () => {
      const h = await call(svc.url, "GET", "/healthz");
      const listed = (h.body.engines as { name: string; state: string }[]).map((e) => `${e.name}:${e.state}`);
      return listed.join(",") === "local:up,second:up";
    });

    const ids: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await call(svc.url, "POST", "/v1/runs", { mode: "hosted", goal: `engines-kill ${i}` });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids.push(r.body.id as string);
    }
    // kill the second engine while executions run on it
    await until("an execution running on the second engine", async () =>
      (await containersOf(d2.docker, pid).catch(() => [])).some((c) => c.State === "running"),
    );
    await d2.kill();

    const runs = await Promise.all(
      ids.map((id) =>
        until(`run ${id} to end`, async () => {
          const r = await call(svc.url, "GET", `/v1/runs/${id}`);
          return ["succeeded", "failed", "waiting_for_input", "cancelled"].includes(r.body.status as string)
            ? r.body
            : undefined;
        }),
      ),
    );
    assert.deepEqual(
      runs.map((r) => r.status),
      runs.map(() => "succeeded"),
      JSON.stringify(runs),
    );
    let healed = 0;
    for (const id of ids) {
      const steps = (await call(svc.url, "GET", `/v1/runs/${id}/steps`)).body as any[];
      const containerSteps = steps.filter((s) => s.kind === "container");
      const last = containerSteps.at(-1);
      assert.equal(last.status, "succeeded");
      assert.equal(last.output.stdout, "42\n");
      for (const s of containerSteps.slice(0, -1)) {
        assert.equal(s.status, "failed");
        assert.ok(["container_lost", "sandbox_unavailable"].includes(s.failure.kind), s.failure.kind);
        healed += 1;
      }
      if (containerSteps.length > 1) {
        assert.equal(last.output.usage.engine, "local", "the retry ran on the engine that answers");
        assert.ok(last.remediation, "healed by the policy's remediation");
      }
    }
    assert.ok(healed >= 1, "at least one execution was lost with the second engine and healed");

    const health1 = await call(svc.url, "GET", "/healthz");
    assert.equal(health1.status, 200);
    const states = Object.fromEntries(
      (health1.body.engines as { name: string; state: string }[]).map((e) => [e.name, e.state]),
    );
    assert.deepEqual(states, { local: "up", second: "down" });

    // the engine comes back: the service removes what the crash left of its containers there
    await d2.restart();
    await until("the second engine back up in /healthz", async () => {
      const h = await call(svc.url, "GET", "/healthz");
      return (h.body.engines as { name: string; state: string }[]).every((e) => e.state === "up");
    });
    await until("no container of the service left on the second engine", async () =>
      (await containersOf(d2.docker, pid)).length === 0 ? true : undefined,
    );
    await until("no container of the service left on the first engine", async () =>
      (await containersOf(local, pid)).length === 0 ? true : undefined,
    );
    await svc.stop();
    assert.equal((await containersOf(local, pid)).length, 0);
    assert.equal((await containersOf(d2.docker, pid)).length, 0);
  });
});
