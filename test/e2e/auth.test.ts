// End-to-end: API keys made with the real CLI guard every route but /healthz; per-tenant rate and concurrency limits.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { SqliteStore } from "../../service/src/store/sqlite/sqlite-store.ts";
import { ApiKeys } from "../../service/src/auth/api-keys.ts";

const MAIN = new URL("../../service/src/cli/main.ts", import.meta.url).pathname;
const REPO_POLICIES = new URL("../../policies/", import.meta.url).pathname;

/** Runs the real `mend` CLI in a child process; returns its stdout. */
async function mend(env: Record<string, string>, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ...env },
  });
  return stdout;
}

/** `mend keys create` → the key, from the last line of stdout. */
async function createKey(env: Record<string, string>, tenant: string, policy: string): Promise<string> {
  const out = await mend(env, "keys", "create", "--tenant", tenant, "--policy", policy);
  return out.trimEnd().split("\n").at(-1)!;
}

const keyId = (token: string) => /^mend_([0-9a-f]{16})_/.exec(token)![1]!;

async function expectProblem(res: Response, status: number, type: string): Promise<{ detail: string }> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = (await res.json()) as { type: string; status: number; detail: string };
  assert.equal(body.type, `urn:mend:problem:${type}`);
  assert.equal(body.status, status);
  return body;
}

describe("API keys over HTTP", () => {
  let svc: ServiceProcess;
  let env: Record<string, string>;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(svc.url + path, { headers });
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });

  before(async () => {
    const policiesDir = mkdtempSync(join(tmpdir(), "mend-e2e-policies-"));
    for (const f of readdirSync(REPO_POLICIES)) cpSync(join(REPO_POLICIES, f), join(policiesDir, f));
    writeFileSync(
      join(policiesDir, "trickle.yaml"),
      "name: trickle\nextends: default\nlimits: { requestsPerSecond: 0.001, burst: 2 }\n",
    );
    writeFileSync(
      join(policiesDir, "serial.yaml"),
      "name: serial\nextends: default\nlimits: { concurrentExecutions: 1 }\n",
    );
    writeFileSync(join(policiesDir, "ghost.yaml"), "name: ghost\nextends: default\n");
    const dataDir = mkdtempSync(join(tmpdir(), "mend-e2e-auth-"));
    env = { MEND_DATA_DIR: dataDir, MEND_POLICIES_DIR: policiesDir };
    svc = await startService({ ...env, MEND_SHUTDOWN_GRACE_MS: "0" }, dataDir);
  });
  after(async () => {
    await svc.stop();
  });

  it("serves callers without a key as the local tenant while no key exists", async () => {
    const res = await get("/v1/runs");
    assert.equal(res.status, 200);
  });

  it("requires a key on every route but /healthz as soon as a key is created, without a restart", async () => {
    const token = await createKey(env, "acme", "default");
    assert.match(token, /^mend_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const missing = await get("/v1/runs");
    const body = await expectProblem(missing, 401, "unauthorized");
    assert.match(body.detail, /Authorization: Bearer/);
    assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer/);
    for (const path of ["/v1/tools", "/v1/openapi.json", "/v1/cache/stats", "/v1/runs/run_x/steps"]) {
      assert.equal((await get(path)).status, 401, path);
    }
    assert.equal((await get("/healthz")).status, 200);
    assert.equal((await get("/v1/runs", auth(token))).status, 200);
  });

  it("lets a browser sign in to the inspector with the key in an HttpOnly cookie", async () => {
    const token = await createKey(env, "acme", "default");
    const anonymous = await fetch(`${svc.url}/ui`, { redirect: "manual" });
    assert.equal(anonymous.status, 302);
    assert.equal(anonymous.headers.get("location"), "/ui/login");
    assert.equal((await fetch(`${svc.url}/ui/login`)).status, 200);
    const form = (key: string) =>
      fetch(`${svc.url}/ui/login`, {
        method: "POST",
        body: new URLSearchParams({ key }),
        redirect: "manual",
      });
    const refused = await form("mend_0123456789abcdef_nope");
    assert.equal(refused.status, 200);
    assert.equal(refused.headers.get("set-cookie"), null);
    assert.match(await refused.text(), /role="alert"/);
    const signedIn = await form(token);
    assert.equal(signedIn.status, 302);
    const cookie = signedIn.headers.get("set-cookie") ?? "";
    assert.match(cookie, /^mend_key=/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const withCookie = { cookie: cookie.split(";")[0]! };
    assert.equal((await get("/ui", withCookie)).status, 200);
    assert.equal(
      (await get("/v1/runs", withCookie)).status,
      200,
      "the inspector's own API calls carry the cookie",
    );
  });

  it("answers malformed and wrong keys with 401 problem+json and an invalid_token challenge", async () => {
    const token = await createKey(env, "acme", "default");
    const wrongSecret = token.slice(0, -4) + (token.endsWith("AAAA") ? "BBBB" : "AAAA");
    const unknownId = token.replace(keyId(token), "0123456789abcdef");
    for (const header of [
      token,
      "Basic YWNtZTpzZWNyZXQ=",
      "Bearer",
      "Bearer short",
      `Bearer ${token}x`,
      `Bearer ${wrongSecret}`,
      `Bearer ${unknownId}`,
    ]) {
      const res = await get("/v1/runs", { authorization: header });
      await expectProblem(res, 401, "unauthorized");
      assert.match(res.headers.get("www-authenticate") ?? "", /error="invalid_token"/, header);
    }
  });

  it("refuses a key from the request after `mend keys revoke`", async () => {
    const token = await createKey(env, "acme", "default");
    assert.equal((await get("/v1/runs", auth(token))).status, 200);
    assert.equal((await mend(env, "keys", "revoke", keyId(token))).trim(), `revoked ${keyId(token)}`);
    const body = await expectProblem(await get("/v1/runs", auth(token)), 401, "unauthorized");
    assert.match(body.detail, /revoked/);
    const listed = JSON.parse(await mend(env, "keys", "list", "--json")) as {
      id: string;
      revokedAt: number | null;
    }[];
    assert.notEqual(listed.find((k) => k.id === keyId(token))?.revokedAt, null);
    assert.doesNotMatch(JSON.stringify(listed), new RegExp(token.slice(22)), "the list never holds a secret");
  });

  it("answers 503 naming the policy when a key's policy is not loaded", async () => {
    const store = SqliteStore.open(join(env.MEND_DATA_DIR!, "mend.db"));
    const { token } = await new ApiKeys(store).create({ tenant: "acme", policy: "vanished" });
    await store.close();
    const body = await expectProblem(await get("/v1/runs", auth(token)), 503, "unavailable");
    assert.match(body.detail, /policy "vanished"/);
  });

  it("answers 429 with Retry-After once a tenant exceeds its policy's request rate", async () => {
    const token = await createKey(env, "trickler", "trickle");
    assert.equal((await get("/v1/runs", auth(token))).status, 200);
    assert.equal((await get("/v1/runs", auth(token))).status, 200);
    const res = await get("/v1/runs", auth(token));
    const body = await expectProblem(res, 429, "rate-limited");
    assert.match(res.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
    assert.match(body.detail, /trickler/);
    const other = await createKey(env, "bystander", "default");
    assert.equal((await get("/v1/runs", auth(other))).status, 200, "other tenants are not limited");
  });

  it("answers 429 with Retry-After when a tenant is at its policy's concurrent executions", async () => {
    const token = await createKey(env, "serializer", "serial");
    const post = (path: string, body: unknown) =>
      fetch(svc.url + path, {
        method: "POST",
        headers: { ...auth(token), "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const run = (await (await post("/v1/runs", { mode: "client" })).json()) as { id: string };
    const holding = post(`/v1/runs/${run.id}/steps`, {
      key: "hold",
      action: {
        type: "codemode",
        code: "await tools.sleep({ ms: 30000 }); return 1;",
        limits: { timeoutMs: 40000 },
      },
    }).catch(() => null);
    // Wait until the first execution is journaled as started, then a second one must be refused.
    for (;;) {
      const steps = (await (await get(`/v1/runs/${run.id}/steps`, auth(token))).json()) as { key: string }[];
      if (steps.some((s) => s.key === "hold")) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const res = await post("/v1/executions", { sandbox: "codemode", code: "return 2" });
    await expectProblem(res, 429, "rate-limited");
    assert.equal(res.headers.get("retry-after"), "1");
    // The held execution is interrupted by the service's shutdown (grace 0) in `after`.
    void holding;
  });
});

/** Waits until the service has logged a line whose `msg` matches; fails if the service exits first. */
async function logged(
  svc: ServiceProcess,
  msg: RegExp,
): Promise<{ msg: string; level: number; err?: string }> {
  let gone = false;
  void svc.exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`the service exited before logging ${msg}`);
    for (const line of svc.logs) {
      try {
        const rec = JSON.parse(line) as { msg: string; level: number; err?: string };
        if (msg.test(rec.msg)) return rec;
      } catch {
        /* not JSON */
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("binding and policy reload", () => {
  it("listens on loopback only, and says so, when no key exists even if MEND_HOST asks for more", async () => {
    const svc = await startService({ MEND_HOST: "0.0.0.0" });
    try {
      assert.match(svc.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const rec = await logged(svc, /no API keys configured/);
      assert.match(rec.msg, /refusing to listen on 0\.0\.0\.0/);
      assert.equal(rec.level, 40, "a warning");
    } finally {
      await svc.stop();
    }
  });

  it("re-reads policies on SIGHUP, and keeps the previous ones when the new files are invalid", async () => {
    const policiesDir = mkdtempSync(join(tmpdir(), "mend-e2e-policies-"));
    writeFileSync(join(policiesDir, "default.yaml"), "name: default\ncodemode:\n  max: { memoryMb: 64 }\n");
    const svc = await startService({ MEND_POLICIES_DIR: policiesDir });
    const exec = async () => {
      const res = await fetch(`${svc.url}/v1/executions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sandbox: "codemode", code: "return 1", limits: { memoryMb: 100 } }),
      });
      return (await res.json()) as { status: string; failure?: { rule?: string } };
    };
    try {
      assert.equal((await exec()).failure?.rule, "codemode.max.memoryMb");
      writeFileSync(
        join(policiesDir, "default.yaml"),
        "name: default\ncodemode:\n  max: { memoryMb: 128 }\n",
      );
      svc.child.kill("SIGHUP");
      await logged(svc, /^policies reloaded$/);
      assert.equal((await exec()).status, "succeeded");
      writeFileSync(
        join(policiesDir, "default.yaml"),
        "name: default\ncodemode:\n  max: { memoryMb: big }\n",
      );
      svc.child.kill("SIGHUP");
      const failed = await logged(svc, /^policy reload failed/);
      assert.match(failed.err ?? "", /default\.yaml:3: at codemode\.max\.memoryMb/);
      assert.equal((await exec()).status, "succeeded", "the previous policy stays in force");
    } finally {
      await svc.stop();
    }
  });
});
