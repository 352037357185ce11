// The ContainerRunner conformance suite: what every runner (one engine, several engines) must do, on real engines.
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import type Docker from "dockerode";
import { DEFAULT_CONTAINER_LIMITS } from "../container/docker-runner.ts";
import { LABEL_EXECUTION, LABEL_OWNER } from "../container/labels.ts";
import type { ContainerJob, ContainerRunner } from "../container/runner.ts";
import type { TestApi } from "./test-api.ts";

/** How a suite gets its runner: built for `ownerId` (so leftovers are found), on `engines`. */
export interface ContainerRunnerFixture {
  make(ownerId: string): Promise<ContainerRunner>;
  /** Every engine the runner may place on (leftover containers are looked for on each). */
  engines(): Docker[];
  /** Engine names the runner reports in `usage.engine`, when it reports them. */
  engineNames?: string[];
}

const limits = { ...DEFAULT_CONTAINER_LIMITS, timeoutMs: 60_000 };
const job = (code: string, extra: Partial<ContainerJob> = {}): ContainerJob => ({
  image: "python",
  code,
  limits,
  ...extra,
});

async function owned(engines: Docker[], ownerId: string): Promise<number> {
  const lists = await Promise.all(
    engines.map((d) => d.listContainers({ all: true, filters: { label: [`${LABEL_OWNER}=${ownerId}`] } })),
  );
  return lists.reduce((n, l) => n + l.length, 0);
}

/** Polls until `fn` is true (deadline generous: the machine is loaded). */
async function until(fn: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await delay(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Registers the suite under `name`: python jobs succeed with output and files, failures are
 * values (nonzero_exit, image_unavailable, timeout, container_lost when killed from outside), jobs
 * run concurrently, engine info and images are reported, and dispose leaves no container.
 * @example
 * import * as t from "node:test";
 * runContainerRunnerConformance(t, "DockerRunner", { make: (ownerId) => start(new DockerRunner({ ownerId })), engines: () => [docker] });
 */
export function runContainerRunnerConformance(t: TestApi, name: string, fx: ContainerRunnerFixture): void {
  void t.describe(`ContainerRunner conformance: ${name}`, () => {
    const ownerId = `conf_${Math.random().toString(16).slice(2, 10)}`;
    let runner: ContainerRunner;
    t.before(async () => {
      runner = await fx.make(ownerId);
    });
    t.after(async () => {
      await runner?.dispose();
      assert.equal(await owned(fx.engines(), ownerId), 0, "dispose() leaves no container on any engine");
    });

    void t.it("print(6*7) succeeds with its output and usage", async () => {
      const out = await runner.run(job("print(6*7)"));
      assert.equal(out.status, "succeeded", JSON.stringify(out));
      assert.equal(out.stdout, "42\n");
      assert.equal(out.exitCode, 0);
      assert.ok(out.usage.wallMs > 0);
      if (fx.engineNames)
        assert.ok(fx.engineNames.includes(out.usage.engine ?? ""), String(out.usage.engine));
    });

    void t.it("files go in and files under /workspace/out come back", async () => {
      const code =
        "import os\nn = len(open('in.txt').read().split())\nos.makedirs('out', exist_ok=True)\nopen('out/n.txt','w').write(str(n))";
      const out = await runner.run(job(code, { files: [{ path: "in.txt", content: Buffer.from("a b c") }] }));
      assert.equal(out.status, "succeeded", out.stderr);
      assert.deepEqual(
        out.files.map((f) => [f.path, f.content.toString()]),
        [["n.txt", "3"]],
      );
    });

    void t.it("a nonzero exit is nonzero_exit, an unknown image image_unavailable", async () => {
      const out = await runner.run(job("import sys; sys.exit(3)"));
      assert.equal(out.status === "failed" && out.failure.kind, "nonzero_exit");
      assert.equal(out.exitCode, 3);
      const missing = await runner.run(job("print(1)", { image: "no-such-runtime-xyz" }));
      assert.equal(missing.status === "failed" && missing.failure.kind, "image_unavailable");
    });

    void t.it("the wall-clock limit is a timeout failure", async () => {
      const out = await runner.run(
        job("import time; time.sleep(60)", { limits: { ...limits, timeoutMs: 1500 } }),
      );
      assert.equal(out.status === "failed" && out.failure.kind, "timeout");
    });

    void t.it("a container killed from outside is container_lost and retryable", async () => {
      const executionId = `ex_conf_kill_${Math.random().toString(16).slice(2, 8)}`;
      const running = runner.run(
        job("import time; print('started', flush=True); time.sleep(60)", {
          labels: { [LABEL_EXECUTION]: executionId },
        }),
      );
      let target: { docker: Docker; id: string } | undefined;
      await until(async () => {
        for (const d of fx.engines()) {
          const l = await d
            .listContainers({ filters: { label: [`${LABEL_EXECUTION}=${executionId}`] } })
            .catch(() => []);
          const pooled = await d
            .listContainers({ filters: { name: [`mend-${executionId}-`] } })
            .catch(() => []);
          const c = l[0] ?? pooled[0];
          if (c) target = { docker: d, id: c.Id };
        }
        return target !== undefined;
      }, "the job's container");
      await delay(300); // let the job start inside it
      await target!.docker
        .getContainer(target!.id)
        .kill()
        .catch(() => undefined);
      const out = await running;
      assert.equal(out.status, "failed");
      assert.ok(out.status === "failed");
      assert.equal(out.failure.kind, "container_lost", out.failure.message);
      assert.equal(out.failure.retryable, true);
    });

    void t.it("eight jobs at once all succeed", async () => {
      const outs = await Promise.all(Array.from({ length: 8 }, (_, i) => runner.run(job(`print(${i} * 2)`))));
      assert.deepEqual(
        outs.map((o) => [o.status, o.stdout]),
        outs.map((_, i) => ["succeeded", `${i * 2}\n`]),
      );
    });

    void t.it("engineInfo and images report the engine and python", async () => {
      const info = await runner.engineInfo();
      assert.equal(info.available, true);
      assert.ok((await runner.images()).includes("python"));
    });
  });
}
