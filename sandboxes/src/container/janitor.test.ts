// The janitor removes containers of dead runner processes and leaves live runners' containers alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { hostname } from "node:os";
import Docker from "dockerode";
import { DEFAULT_CONTAINER_LIMITS } from "./docker-runner.ts";
import { hardenedSpec } from "./host-config.ts";
import { isPidAlive, sweepOrphans } from "./janitor.ts";

const docker = new Docker({ socketPath: "/var/run/docker.sock" });

function deadPid(): number {
  for (let pid = 4_000_000; pid > 3_000_000; pid -= 7919) if (!isPidAlive(pid)) return pid;
  throw new Error("no free pid found");
}

void test("start-up sweep removes containers of dead owners and keeps those of live ones", async () => {
  const tag = `janitor_${process.pid}_${Date.now()}`;
  const labels = (owner: string, pid: number) => ({
    mend: "1",
    "mend.execution": tag,
    "mend.owner": owner,
    "mend.owner.pid": String(pid),
    "mend.owner.host": hostname(),
  });
  const dead = await docker.createContainer(
    hardenedSpec({
      image: "shell",
      limits: DEFAULT_CONTAINER_LIMITS,
      labels: labels(`${tag}_dead`, deadPid()),
    }),
  );
  const live = await docker.createContainer(
    hardenedSpec({
      image: "shell",
      limits: DEFAULT_CONTAINER_LIMITS,
      labels: labels(`${tag}_live`, process.pid),
    }),
  );
  try {
    const removed = await sweepOrphans(docker, `${tag}_me`);
    assert.ok(removed.includes(dead.id), "the dead owner's container is removed");
    assert.ok(!removed.includes(live.id), "the live owner's container is kept");
    const left = await docker.listContainers({ all: true, filters: { label: [`mend.execution=${tag}`] } });
    assert.deepEqual(
      left.map((c) => c.Id),
      [live.id],
    );
  } finally {
    await live.remove({ force: true });
    await dead.remove({ force: true }).catch(() => undefined);
  }
});
