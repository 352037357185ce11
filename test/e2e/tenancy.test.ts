// End-to-end: tenants never see each other (404, not 403), policies bind executions, the journal answers "who ran what".
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKey, startService, type ServiceProcess } from "../support/service-process.ts";

const POLICIES = new URL("../../policies/", import.meta.url).pathname;

interface Step {
  key: string;
  kind: string;
  status: string;
  output: { result?: unknown } | null;
  failure: { kind: string; rule?: string } | null;
  audit?: Record<string, unknown>;
}

describe("tenant isolation", () => {
  let svc: ServiceProcess;
  let acme: string;
  let globex: string;
  let acmeResearch: string;
  let runId: string;
  let blobSha: string;

  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(svc.url + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
  };
  const json = async <T>(token: string, method: string, path: string, body?: unknown): Promise<T> => {
    const r = await call(token, method, path, body);
    assert.ok(r.status < 300, `${method} ${path} → ${r.status} ${r.text}`);
    return JSON.parse(r.text) as T;
  };

  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "mend-e2e-tenancy-"));
    const env = { MEND_DATA_DIR: dataDir, MEND_POLICIES_DIR: POLICIES };
    [acme, globex, acmeResearch] = await Promise.all([
      createKey(env, "acme", "default"),
      createKey(env, "globex", "default"),
      createKey(env, "acme", "research"),
    ]);
    svc = await startService(env, dataDir);

    const run = await json<{ id: string }>(acme, "POST", "/v1/runs", {
      mode: "client",
      goal: "acme's secret work",
    });
    runId = run.id;
    const big = await json<{ status: string; result: string }>(acme, "POST", `/v1/runs/${runId}/steps`, {
      key: "big",
      action: { type: "codemode", code: "return 'acme-confidential '.repeat(500);" },
    });
    assert.equal(big.status, "succeeded");
    // A result over 4 KiB is journaled in the blob store, addressed by the sha256 of its JSON text.
    blobSha = createHash("sha256").update(JSON.stringify(big.result)).digest("hex");
    await json(acme, "PUT", `/v1/runs/${runId}/checkpoints/cp`, { value: { n: 1 } });
  });
  after(async () => {
    await svc.stop();
  });

  it("lets the owner read its run, its journal and its blob", async () => {
    assert.equal((await json<{ id: string }>(acme, "GET", `/v1/runs/${runId}`)).id, runId);
    const steps = await json<Step[]>(acme, "GET", `/v1/runs/${runId}/steps`);
    assert.deepEqual(
      steps.map((s) => s.key),
      ["big", "checkpoint:cp"],
    );
    const blob = await call(acme, "GET", `/v1/blobs/${blobSha}`);
    assert.equal(blob.status, 200);
    assert.match(blob.text, /acme-confidential/);
  });

  it("answers another tenant's run id with 404 problem+json on every route, never 403", async () => {
    const attempts: [string, string, unknown?][] = [
      ["GET", `/v1/runs/${runId}`],
      ["GET", `/v1/runs/${runId}/steps`],
      ["POST", `/v1/runs/${runId}/steps`, { key: "big", action: { type: "codemode", code: "return 1" } }],
      ["POST", `/v1/runs/${runId}/steps`, { key: "new", action: { type: "codemode", code: "return 1" } }],
      ["GET", `/v1/runs/${runId}/checkpoints/cp`],
      ["PUT", `/v1/runs/${runId}/checkpoints/cp`, { value: 2 }],
      ["POST", `/v1/runs/${runId}/complete`, { output: "hijacked" }],
      ["POST", `/v1/runs/${runId}/cancel`],
      ["GET", `/v1/runs/${runId}/events`],
    ];
    for (const [method, path, body] of attempts) {
      const r = await call(globex, method, path, body);
      assert.equal(r.status, 404, `${method} ${path} → ${r.status} ${r.text}`);
      assert.equal(r.type, "application/problem+json");
      assert.doesNotMatch(r.text, /acme/);
    }
    const run = await json<{ status: string }>(acme, "GET", `/v1/runs/${runId}`);
    assert.equal(run.status, "running", "the cancel attempt changed nothing");
    const steps = await json<Step[]>(acme, "GET", `/v1/runs/${runId}/steps`);
    assert.deepEqual(
      steps.map((s) => s.key),
      ["big", "checkpoint:cp"],
      "the replay attempt added nothing",
    );
    assert.deepEqual(
      (await json<{ value: unknown }>(acme, "GET", `/v1/runs/${runId}/checkpoints/cp`)).value,
      { n: 1 },
    );
  });

  it("never lists another tenant's runs", async () => {
    await json(globex, "POST", "/v1/runs", { mode: "client", goal: "globex's own" });
    const page = await json<{ items: { id: string; goal: string }[] }>(globex, "GET", "/v1/runs?limit=200");
    assert.ok(page.items.length >= 1);
    assert.ok(page.items.every((r) => r.id !== runId && !/acme/.test(r.goal ?? "")));
    const own = await json<{ items: { id: string }[] }>(acme, "GET", "/v1/runs?limit=200");
    assert.ok(own.items.some((r) => r.id === runId));
  });

  it("never exports another tenant's runs", async () => {
    const own = await call(acme, "GET", "/v1/runs/export?format=jsonl");
    assert.equal(own.status, 200);
    assert.match(own.text, new RegExp(runId));
    const other = await call(globex, "GET", "/v1/runs/export?format=jsonl");
    assert.equal(other.status, 200);
    assert.doesNotMatch(other.text, new RegExp(runId));
    assert.doesNotMatch(other.text, /acme/);
  });

  it("does not serve a tenant's blob to another tenant, even by its exact sha256", async () => {
    const r = await call(globex, "GET", `/v1/blobs/${blobSha}`);
    assert.equal(r.status, 404);
    assert.equal(r.type, "application/problem+json");
    assert.doesNotMatch(r.text, /acme-confidential/);
  });

  it("refuses another tenant's blob as an input file by reference, naming the field, before anything runs", async () => {
    const before = (await json<{ items: unknown[] }>(globex, "GET", "/v1/runs?limit=200")).items.length;
    const r = await call(globex, "POST", "/v1/executions", {
      sandbox: "container",
      image: "python",
      code: "print(open('stolen.json').read())",
      files: [{ path: "stolen.json", blob: blobSha }],
    });
    assert.equal(r.status, 400, r.text);
    const problem = JSON.parse(r.text) as { errors: { path: string }[]; detail: string };
    assert.deepEqual(
      problem.errors.map((e) => e.path),
      ["/files/0/blob"],
    );
    assert.doesNotMatch(r.text, /acme-confidential/);
    const after = (await json<{ items: unknown[] }>(globex, "GET", "/v1/runs?limit=200")).items.length;
    assert.equal(after, before, "no run was created for the refused request");
  });

  it("fails a container execution under a policy that forbids containers with policy_violation, as a result", async () => {
    const res = await json<{
      status: string;
      failure: { kind: string; layer: string; rule: string; message: string };
    }>(acmeResearch, "POST", "/v1/executions", { sandbox: "container", image: "python", code: "print(6*7)" });
    assert.equal(res.status, "failed");
    assert.equal(res.failure.kind, "policy_violation");
    assert.equal(res.failure.layer, "policy");
    assert.equal(res.failure.rule, "container.enabled");
    assert.match(res.failure.message, /policy "research" does not allow container executions/);
  });

  it("keeps a client run going after a step fails with policy_violation", async () => {
    const run = await json<{ id: string }>(acmeResearch, "POST", "/v1/runs", { mode: "client" });
    const denied = await json<{ status: string; failure: { kind: string } }>(
      acmeResearch,
      "POST",
      `/v1/runs/${run.id}/steps`,
      {
        key: "container",
        action: { type: "container", image: "python", code: "print(1)" },
      },
    );
    assert.equal(denied.status, "failed");
    assert.equal(denied.failure.kind, "policy_violation");
    const next = await json<{ status: string; result: unknown }>(
      acmeResearch,
      "POST",
      `/v1/runs/${run.id}/steps`,
      {
        key: "codemode",
        action: { type: "codemode", code: "return 6 * 7" },
      },
    );
    assert.deepEqual([next.status, next.result], ["succeeded", 42]);
    const over = await json<{ status: string; failure: { kind: string; rule: string; limits: unknown } }>(
      acmeResearch,
      "POST",
      `/v1/runs/${run.id}/steps`,
      { key: "too-big", action: { type: "codemode", code: "return 1", limits: { memoryMb: 100000 } } },
    );
    assert.equal(over.failure.kind, "policy_violation");
    assert.equal(over.failure.rule, "codemode.max.memoryMb");
    assert.deepEqual(over.failure.limits, { memoryMb: 256 });
    assert.equal(
      (await json<{ status: string }>(acmeResearch, "GET", `/v1/runs/${run.id}`)).status,
      "running",
    );
  });

  it("journals who ran each step with which permissions: tenant, key id, policy name and version, resolved limits", async () => {
    const steps = await json<Step[]>(acme, "GET", `/v1/runs/${runId}/steps`);
    const audit = steps[0]!.audit as
      | {
          tenant: string;
          keyId: string;
          policy: string;
          policyVersion: string;
          resolved?: { limits?: unknown };
        }
      | undefined;
    assert.ok(audit, "step has an audit");
    assert.equal(audit.tenant, "acme");
    assert.equal(audit.keyId, /^mend_([0-9a-f]{16})_/.exec(acme)![1]);
    assert.equal(audit.policy, "default");
    assert.match(audit.policyVersion, /^[0-9a-f]{12}$/);
    assert.equal((audit.resolved?.limits as { memoryMb?: number } | undefined)?.memoryMb, 32);
  });
});
