// POST /v1/executions with sandbox "container" against the real Docker engine: output, files in and out, refusals.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { call } from "../support/http-json.ts";

let svc: ServiceProcess;
before(async () => {
  svc = await startService();
});
after(async () => {
  await svc.stop();
});

const exec = (body: Record<string, unknown>) =>
  call(svc.url, "POST", "/v1/executions", { sandbox: "container", ...body });

describe("container executions over HTTP", () => {
  it("takes an earlier execution's output file as an input file by reference (blob), without re-uploading it", async () => {
    const first = await exec({
      image: "python",
      code: "import os\nos.makedirs('out', exist_ok=True)\nopen('out/rows.csv', 'w').write('x,1\\ny,2\\n')",
    });
    assert.equal(first.body.status, "succeeded", JSON.stringify(first.body));
    const produced = first.body.files[0];
    const second = await exec({
      image: "python",
      code: "print(sum(int(l.split(',')[1]) for l in open('in/rows.csv').read().split()))",
      files: [{ path: "in/rows.csv", blob: produced.sha256 }],
    });
    assert.equal(second.body.status, "succeeded", JSON.stringify(second.body));
    assert.equal(second.body.stdout, "3\n");
    const steps = (await call(svc.url, "GET", `/v1/runs/${second.body.runId}/steps`)).body;
    assert.deepEqual(steps[0].input.files, [
      { path: "in/rows.csv", size: produced.size, sha256: produced.sha256 },
    ]);
    const unknown = await exec({
      image: "python",
      code: "print(1)",
      files: [{ path: "a", blob: "0".repeat(64) }],
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.errors[0].path, "/files/0/blob");
    const both = await exec({
      image: "python",
      code: "print(1)",
      files: [{ path: "a", blob: produced.sha256, content: "x" }],
    });
    assert.equal(both.status, 400);
    assert.match(JSON.stringify(both.body.errors), /\/files\/0\/(blob|content)/);
  });

  it("runs python once and returns its output", async () => {
    const r = await exec({ image: "python", code: "print(6*7)" });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "succeeded");
    assert.equal(r.body.stdout, "42\n");
    assert.equal(r.body.exitCode, 0);
    assert.ok(r.body.usage.wallMs > 0);
  });

  it("takes files in and returns files written under out/ as blobs", async () => {
    const r = await exec({
      image: "python",
      code: "import os\nrows = open('data.csv').read().split()\nos.makedirs('out', exist_ok=True)\nopen('out/count.txt', 'w').write(str(len(rows)))",
      files: [
        { path: "data.csv", content: "a\nb\nc\n" },
        { path: "bin/blob.dat", content: Buffer.from([0, 1, 2]).toString("base64"), encoding: "base64" },
      ],
    });
    assert.equal(r.body.status, "succeeded", JSON.stringify(r.body.failure));
    const [file] = r.body.files;
    assert.equal(file.path, "count.txt");
    assert.match(file.url, /^\/v1\/blobs\/[0-9a-f]{64}$/);
    assert.equal(await (await fetch(svc.url + file.url)).text(), "3");
  });

  it("returns a failed execution, not an HTTP error, for code that raises", async () => {
    const r = await exec({ image: "python", code: "x = 1\nraise ValueError('bad value')" });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "failed");
    assert.equal(r.body.failure.kind, "runtime_error");
    assert.equal(r.body.failure.location.line, 2);
  });

  it("refuses file paths that are absolute or climb out of the workspace with 400, journaling nothing", async () => {
    for (const path of ["../escape.txt", "/etc/passwd", "a/../../b"]) {
      const r = await exec({ image: "python", code: "print(1)", files: [{ path, content: "x" }] });
      assert.equal(r.status, 400, path);
      assert.equal(r.headers.get("content-type"), "application/problem+json");
      assert.equal(r.body.errors[0].path, "/files/0/path");
    }
    const page = await call(svc.url, "GET", "/v1/runs?status=running");
    assert.equal(page.body.items.length, 0);
  });

  it("refuses uploads over the cap with 413", async () => {
    const r = await exec({
      image: "python",
      code: "print(1)",
      files: [{ path: "big.txt", content: "x".repeat(4 * 1024 * 1024 + 1) }],
    });
    assert.equal(r.status, 413);
  });

  it("answers an image or limits the policy does not allow with policy_violation", async () => {
    const image = await exec({ image: "ruby", code: "puts 1" });
    assert.equal(image.body.status, "failed");
    assert.equal(image.body.failure.kind, "policy_violation");
    assert.equal(image.body.failure.rule, "container.images");
    const memory = await exec({ image: "python", code: "print(1)", limits: { memoryMb: 100000 } });
    assert.equal(memory.body.failure.kind, "policy_violation");
    assert.equal(memory.body.failure.rule, "container.max.memoryMb");
    assert.match(memory.body.failure.message, /2048/);
  });
});
