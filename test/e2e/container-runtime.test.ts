// A policy's container.runtime reaches the container over HTTP: the step's usage names the runtime the
// code ran on, per image, and the audit trail keeps what the policy resolved.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { call } from "../support/http-json.ts";

const docker = new Docker({ socketPath: "/var/run/docker.sock" });
const info = await docker.info().catch(() => undefined);
const runscSkip =
  "runsc" in ((info as { Runtimes?: Record<string, unknown> } | undefined)?.Runtimes ?? {})
    ? undefined
    : "gVisor's runsc is not registered with this Docker engine (scripts/setup registers it where it can)";

const policies = mkdtempSync(join(tmpdir(), "mend-runtime-policies-"));
// the default policy of the repository, with python on gVisor and the other images on runc
writeFileSync(join(policies, "default.yaml"), "name: default\ncontainer:\n  runtime: { python: runsc }\n");

let svc: ServiceProcess;
before(async () => {
  svc = await startService({ MEND_POLICIES_DIR: policies, MEND_POOL_SIZE: "0" });
});
after(async () => {
  await svc?.stop();
  rmSync(policies, { recursive: true, force: true });
});

describe("container.runtime over HTTP", { skip: runscSkip }, () => {
  it("python runs on runsc and shell on runc, as the policy says; usage.runtime and the audit say so", async () => {
    const py = await call(svc.url, "POST", "/v1/executions", {
      sandbox: "container",
      image: "python",
      code: "print(6*7)",
    });
    assert.equal(py.body.status, "succeeded", JSON.stringify(py.body));
    assert.equal(py.body.stdout, "42\n");
    assert.equal(py.body.usage.runtime, "runsc");
    assert.ok(py.body.usage.memoryPeakMb > 0, JSON.stringify(py.body.usage));
    const sh = await call(svc.url, "POST", "/v1/executions", {
      sandbox: "container",
      image: "shell",
      code: "echo $((6*7))",
    });
    assert.equal(sh.body.status, "succeeded", JSON.stringify(sh.body));
    assert.equal(sh.body.usage.runtime, "runc");
    const steps = (await call(svc.url, "GET", `/v1/runs/${py.body.runId}/steps`)).body;
    assert.equal(steps[0].audit?.resolved?.runtime, "runsc", JSON.stringify(steps[0].audit));
  });
});
