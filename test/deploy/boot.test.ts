// Boots the deployment for real: the service image built offline (images/build-service), started with
// deploy/run.sh (the host's Docker socket mounted, --pid host) against a PostgreSQL this test starts; then a
// code-mode and a container execution over HTTP, a hosted run whose Mend container is SIGKILLed mid-step
// and restarted by Docker's restart policy, the run resuming (attempt 2, the model asked once per turn), and
// no sandbox container left.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { freshDatabase, postgresServer, type PostgresServer } from "../support/postgres-server.ts";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { finish, runCode } from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;
const RUN_SH = join(ROOT, "deploy/run.sh");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function docker(...args: string[]): Promise<string> {
  return (await run("docker", args, { timeout: 120_000 })).stdout.trim();
}

/** Polls `check` until it returns a value (not undefined), with a generous deadline. */
async function until<T>(check: () => Promise<T | undefined>, what: string, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const name = `mend-boot-${randomBytes(3).toString("hex")}`;
let state: string;
let env: NodeJS.ProcessEnv;
let url: string;
let key: string;
let upOutput: string;
let pgs: PostgresServer | null = null;
let db: { url: string; drop(): Promise<void> } | null = null;
let llm: FakeLlm | null = null;
let skipped: string | null = null;

const deploy = (cmd: string, ...rest: string[]) =>
  run("bash", [RUN_SH, cmd, ...rest], { env, timeout: 300_000 });

before(async () => {
  const avail = await postgresServer();
  if (!avail.server) {
    skipped = avail.reason;
    return;
  }
  pgs = avail.server;
  db = await freshDatabase(pgs.url);
  // The build is cached by a hash of its inputs: a fresh machine (CI) builds it here.
  const built = await run("bash", [join(ROOT, "images/build-service")], { timeout: 900_000 });
  const image = built.stdout.trim().split("\n").at(-1)!;
  llm = await startFakeLlm({
    script: (_req, turn, ctx) =>
      turn === 0
        ? runCode("python", "import time\ntime.sleep(20)\nprint('slept')", { timeoutMs: 120_000 })
        : finish(JSON.parse(ctx.lastToolResult?.content ?? "{}").stdout ?? "no output"),
  });
  state = mkdtempSync(join(tmpdir(), "mend-deploy-state-"));
  const port = await freePort();
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    MEND_IMAGE: image,
    MEND_DEPLOY_NAME: name,
    MEND_DEPLOY_NETWORK: "host",
    MEND_DEPLOY_PORT: String(port),
    MEND_DEPLOY_STATE: state,
    MEND_DATABASE_URL: db.url,
    MEND_LLM_PROVIDER: "openai",
    MEND_LLM_BASE_URL: llm.url,
    MEND_LLM_MODEL: "fake",
    MEND_POOL_SIZE: "0",
  };
  const up = await deploy("up");
  upOutput = up.stdout + up.stderr;
  url = `http://127.0.0.1:${port}`;
  key = readFileSync(join(state, "api-key"), "utf8").trim();
});

after(async () => {
  if (env) await deploy("down", "--volumes").catch((e: Error) => console.error(e.message));
  await llm?.close();
  await db?.drop().catch(() => undefined);
  await pgs?.stop();
  if (state) rmSync(state, { recursive: true, force: true });
});

const api = (method: string, path: string, body?: unknown) =>
  call(url, method, path, body, { authorization: `Bearer ${key}` });

async function leftContainers(runIds: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of runIds) {
    const ids = await docker("ps", "-aq", "--filter", `label=mend.run=${id}`);
    if (ids) out.push(...ids.split("\n"));
  }
  return out;
}

describe("the deployment", () => {
  it("boots healthy on PostgreSQL as non-root, with the first key printed once and saved 0600", async (t) => {
    if (skipped) return t.skip(skipped);
    assert.equal(upOutput.split(key).length - 1, 1, "the key is printed exactly once");
    assert.equal(statSync(join(state, "api-key")).mode & 0o777, 0o600);
    const health = await call(url, "GET", "/healthz");
    assert.equal(health.status, 200, JSON.stringify(health.body));
    assert.equal(health.body.store.kind, "postgres");
    assert.equal(health.body.docker.available, true);
    assert.equal(await docker("exec", name, "id", "-u"), "10001");
    assert.equal(await docker("inspect", "--format", "{{.State.Health.Status}}", name), "healthy");
    assert.equal(
      await docker("inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}", name),
      "unless-stopped",
    );
    assert.equal((await call(url, "GET", "/v1/runs")).status, 401, "anonymous callers are refused");
  });

  it("runs a code-mode and a container execution over HTTP, a killed run resumes, nothing is left", async (t) => {
    if (skipped) return t.skip(skipped);
    const cm = await api("POST", "/v1/executions", { sandbox: "codemode", code: "return 6 * 7" });
    assert.equal(cm.body.status, "succeeded", JSON.stringify(cm.body));
    assert.equal(cm.body.result, 42);
    const box = await api("POST", "/v1/executions", {
      sandbox: "container",
      image: "python",
      code: "import sys; print(sys.version_info[0] * 14)",
    });
    assert.equal(box.body.status, "succeeded", JSON.stringify(box.body));
    assert.equal(box.body.stdout, "42\n");

    const goal = "sleep through a crash";
    const created = await api("POST", "/v1/runs", { mode: "hosted", goal });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = created.body.id as string;
    // Mid-step: the step has started and its sandbox container runs (it sleeps 20 s).
    await until(async () => {
      const steps = (await api("GET", `/v1/runs/${runId}/steps`)).body as any[];
      const started =
        Array.isArray(steps) && steps.some((s) => s.key === "iter-1/call-0" && s.status === "started");
      return started && (await leftContainers([runId])).length > 0 ? true : undefined;
    }, "the container step to be running");
    await deploy("kill");
    const done = await until(async () => {
      const r = await api("GET", `/v1/runs/${runId}`);
      return r.status === 200 && ["succeeded", "failed", "waiting_for_input"].includes(r.body.status)
        ? r.body
        : undefined;
    }, "the run to finish after the restart");
    assert.equal(done.status, "succeeded", JSON.stringify(done));
    assert.match(String(done.output), /slept/);
    const steps = (await api("GET", `/v1/runs/${runId}/steps`)).body as any[];
    const step = steps.find((s) => s.key === "iter-1/call-0");
    assert.equal(step.attempt, 2, "the step cut by the crash ran again");
    assert.equal(llm!.seen(goal).length, 2, "the model was asked once per turn");
    const left = await until(
      async () => {
        const ids = await leftContainers([cm.body.runId, box.body.runId, runId]);
        return ids.length === 0 ? ids : undefined;
      },
      "the sandbox containers to be removed",
      60_000,
    );
    assert.deepEqual(left, []);
  });
});
