// The service as a process: configuration errors, health, problem+json answers, graceful shutdown.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { startService, type ServiceProcess } from "../support/service-process.ts";

const MAIN = new URL("../../service/src/cli/main.ts", import.meta.url).pathname;
const started: ServiceProcess[] = [];
after(async () => {
  await Promise.all(started.map((s) => s.stop("SIGKILL")));
});

async function service(env: Record<string, string> = {}): Promise<ServiceProcess> {
  const s = await startService(env);
  started.push(s);
  return s;
}

/** Waits until the service has journaled `n` steps as started (read from its SQLite file). */
async function startedSteps(dataDir: string, n: number): Promise<void> {
  for (;;) {
    try {
      const db = new DatabaseSync(join(dataDir, "mend.db"), { readOnly: true });
      const row = db.prepare("SELECT COUNT(*) AS c FROM steps WHERE status = 'started'").get() as {
        c: number;
      };
      db.close();
      if (row.c >= n) return;
    } catch {
      /* not created yet */
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

describe("mend serve configuration", () => {
  it("exits non-zero with one line naming a bad variable", () => {
    const r = spawnSync(process.execPath, [MAIN, "serve"], {
      env: { ...process.env, MEND_PORT: "abc" },
      encoding: "utf8",
    });
    assert.notEqual(r.status, 0);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /MEND_PORT/);
  });

  /** `mend serve` with `env`: its exit status and stderr, for conditions that stop it at start-up. */
  const serveOnce = (env: Record<string, string>) =>
    spawnSync(process.execPath, [MAIN, "serve"], {
      env: { ...process.env, MEND_LOG_LEVEL: "silent", MEND_POOL_SIZE: "0", ...env },
      encoding: "utf8",
      timeout: 60_000,
    });
  const oneLine = (stderr: string, name: RegExp) => {
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, name);
    assert.doesNotMatch(lines[0]!, /\bat .+:\d+:\d+/, "no stack trace");
  };

  it("exits 78 with one line naming MEND_PORT when the port is in use", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const dir = mkdtempSync(join(tmpdir(), "mend-port-"));
      const r = serveOnce({ MEND_PORT: String(port), MEND_DATA_DIR: dir });
      assert.equal(r.status, 78, r.stderr);
      oneLine(r.stderr, /MEND_PORT=\d+: 127\.0\.0\.1:\d+ is already in use/);
    } finally {
      taken.close();
    }
  });

  it("exits 78 with one line naming MEND_DATA_DIR when the data dir cannot be used", () => {
    const file = join(mkdtempSync(join(tmpdir(), "mend-datadir-")), "not-a-dir");
    writeFileSync(file, "a file where the data dir should be");
    const r = serveOnce({ MEND_DATA_DIR: file });
    assert.equal(r.status, 78, r.stderr);
    oneLine(r.stderr, /MEND_DATA_DIR=.*not-a-dir/);
  });

  it("exits 78 with one line naming MEND_POLICIES_DIR when the policies dir is missing", () => {
    const dir = mkdtempSync(join(tmpdir(), "mend-policies-"));
    const r = serveOnce({ MEND_DATA_DIR: dir, MEND_POLICIES_DIR: join(dir, "nowhere") });
    assert.equal(r.status, 78, r.stderr);
    oneLine(r.stderr, /MEND_POLICIES_DIR=.*nowhere does not exist/);
  });

  it("rejects an unknown command with usage", () => {
    const r = spawnSync(process.execPath, [MAIN, "frobnicate"], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command/);
  });
});

describe("the running service", () => {
  it("answers /healthz with ok, the store kind, the Docker engine and the images", async () => {
    const s = await service();
    const res = await fetch(`${s.url}/healthz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      ok: boolean;
      version: string;
      store: { kind: string };
      docker: { available: boolean };
      images: string[];
    };
    assert.equal(body.ok, true);
    assert.equal(body.store.kind, "sqlite");
    assert.equal(body.docker.available, true, "the setup script starts the Docker engine");
    assert.ok(Array.isArray(body.images));
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    assert.ok(res.headers.get("x-request-id"), "every response carries a request id");
  });

  it("echoes a caller's plain X-Request-Id and replaces an unsafe or overlong one with a fresh id", async () => {
    const s = await service();
    const idOf = async (sent: string) =>
      (await fetch(`${s.url}/healthz`, { headers: { "x-request-id": sent } })).headers.get("x-request-id");
    assert.equal(await idOf("trace-42_a=b"), "trace-42_a=b");
    for (const unsafe of ["has space", "semi;colon", "x".repeat(256)]) {
      const got = await idOf(unsafe);
      assert.notEqual(got, unsafe);
      assert.match(got ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    assert.equal(await idOf("y".repeat(255)), "y".repeat(255));
  });

  it("answers unknown routes with a 404 problem+json, its request id echoed once", async () => {
    const s = await service();
    const res = await fetch(`${s.url}/v1/nope`, { headers: { "x-request-id": "trace-404" } });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    assert.equal(res.headers.get("x-request-id"), "trace-404");
    const p = (await res.json()) as { type: string; status: number; detail: string };
    assert.equal(p.type, "urn:mend:problem:not-found");
    assert.equal(p.status, 404);
  });

  it("answers malformed JSON with 400 and the parser's position", async () => {
    const s = await service();
    const res = await post(`${s.url}/v1/executions`, '{"sandbox": "codemode", "code": ');
    assert.equal(res.status, 400);
    const p = (await res.json()) as { type: string; detail: string };
    assert.equal(p.type, "urn:mend:problem:malformed-json");
    assert.match(p.detail, /position|line|column|end of JSON/i);
  });

  it("answers a schema violation with 400 and the JSON path of each offending field", async () => {
    const s = await service();
    const res = await post(
      `${s.url}/v1/executions`,
      JSON.stringify({ sandbox: "codemode", code: "", engine: "lua" }),
    );
    assert.equal(res.status, 400);
    const p = (await res.json()) as { type: string; errors: { path: string }[] };
    assert.equal(p.type, "urn:mend:problem:validation");
    assert.ok(p.errors.length > 0);
  });

  it("answers a body that is not UTF-8 with 400", async () => {
    const s = await service();
    const res = await fetch(`${s.url}/v1/executions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { detail: string }).detail, /UTF-8/);
  });

  it("answers a body over the size limit with 413", async () => {
    const s = await service({ MEND_BODY_LIMIT_BYTES: "1024" });
    const res = await post(
      `${s.url}/v1/executions`,
      JSON.stringify({ sandbox: "codemode", code: "x".repeat(4096) }),
    );
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { type: string }).type, "urn:mend:problem:payload-too-large");
  });
});

describe("graceful shutdown", () => {
  const sleepScript = (ms: number) =>
    JSON.stringify({
      sandbox: "codemode",
      code: `await tools.sleep({ ms: ${ms} }); return "done";`,
      limits: { timeoutMs: 30000 },
    });

  it("lets in-flight executions finish on SIGTERM, then exits 0", async () => {
    const s = await service({ MEND_SHUTDOWN_GRACE_MS: "20000" });
    const inflight = Array.from({ length: 4 }, () => post(`${s.url}/v1/executions`, sleepScript(1500)));
    await startedSteps(s.dataDir, 4);
    s.child.kill("SIGTERM");
    const results = await Promise.all(inflight);
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as { result: string }).result, "done");
    }
    const { code } = await s.exited;
    assert.equal(code, 0);
  });

  it("marks executions still running at the deadline as interrupted and exits 0", async () => {
    const s = await service({ MEND_SHUTDOWN_GRACE_MS: "200" });
    const pending = post(`${s.url}/v1/executions`, sleepScript(20000)).catch(() => null);
    await startedSteps(s.dataDir, 1);
    s.child.kill("SIGTERM");
    const { code } = await s.exited;
    assert.equal(code, 0);
    await pending;
    const db = new DatabaseSync(join(s.dataDir, "mend.db"));
    const steps = db.prepare("SELECT status, failure FROM steps").all() as {
      status: string;
      failure: string;
    }[];
    db.close();
    assert.equal(steps.length, 1);
    assert.equal(steps[0]!.status, "interrupted");
    assert.equal((JSON.parse(steps[0]!.failure) as { kind: string }).kind, "interrupted");
  });

  it("stops accepting connections once shutting down", async () => {
    const s = await service({ MEND_SHUTDOWN_GRACE_MS: "5000" });
    const slow = post(`${s.url}/v1/executions`, sleepScript(800));
    await startedSteps(s.dataDir, 1);
    s.child.kill("SIGTERM");
    // Polled, not slept: on a loaded machine the signal can wait behind work the service does right
    // after listening (the container engines start then). Refused while the process still drains.
    const connects = () =>
      new Promise<boolean>((resolve) => {
        const req = request(`${s.url}/healthz`, { agent: false }, (res) => {
          res.resume();
          resolve(true);
        });
        req.on("error", () => resolve(false));
        req.end();
      });
    const deadline = Date.now() + 30_000;
    while ((await connects()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.child.exitCode, null, "refused only once the process had exited");
    assert.equal(await connects(), false);
    assert.equal((await slow).status, 200);
    assert.equal((await s.exited).code, 0);
  });
});

describe("requests a web page could send through a browser (no API keys: loopback is trusted)", () => {
  it("refuses a body that is not JSON with 415, a foreign Origin and a foreign Host with 403", async () => {
    const s = await service();
    const code = JSON.stringify({ sandbox: "codemode", code: "return 1" });
    const plain = await fetch(`${s.url}/v1/executions`, {
      method: "POST",
      body: code,
      headers: { "content-type": "text/plain" },
    });
    assert.equal(plain.status, 415);
    assert.equal(plain.headers.get("content-type"), "application/problem+json");
    const crossSite = await post(`${s.url}/v1/executions`, code, { origin: "https://evil.example" });
    assert.equal(crossSite.status, 403);
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(`${s.url}/v1/runs`, { headers: { host: "evil.example" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(rebound, 403);
    assert.equal(
      (await post(`${s.url}/v1/executions`, code, { origin: s.url })).status,
      200,
      "same origin is fine",
    );
  });
});
