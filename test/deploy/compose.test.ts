// deploy/compose.yaml brought up for real with Debian's docker-compose 1.29: PostgreSQL (mend-postgres,
// built offline), the one-shot first key (0600, never in the log), Mend healthy on it with the host's
// Docker socket; a container execution over HTTP; `down -v` leaves no container of the project.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { call } from "../support/http-json.ts";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;
const COMPOSE = join(ROOT, "deploy/compose.yaml");
const project = `mendcompose${randomBytes(3).toString("hex")}`;

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

let skipped: string | null = null;
let secrets: string;
let env: NodeJS.ProcessEnv;
let url: string;
const compose = (...args: string[]) =>
  run("docker-compose", ["-p", project, "-f", COMPOSE, ...args], { env, timeout: 300_000 });

before(async () => {
  try {
    await run("docker-compose", ["version"]);
  } catch {
    skipped = "docker-compose is not installed (apt-get install docker-compose; scripts/setup does)";
    return;
  }
  const gid = statSync("/var/run/docker.sock").gid;
  // The images: cached by a hash of their inputs, built here on a fresh machine.
  const mend = (await run("bash", [join(ROOT, "images/build-service")], { timeout: 900_000 })).stdout.trim();
  const pg = (await run("bash", [join(ROOT, "images/build-postgres")], { timeout: 900_000 })).stdout.trim();
  secrets = mkdtempSync(join(tmpdir(), "mend-compose-secrets-"));
  const port = await freePort();
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DOCKER_GID: String(gid),
    MEND_POSTGRES_PASSWORD: randomBytes(12).toString("hex"),
    MEND_IMAGE: mend.split("\n").at(-1),
    MEND_POSTGRES_IMAGE: pg.split("\n").at(-1),
    MEND_PORT: String(port),
    MEND_SECRETS_DIR: secrets,
    MEND_POOL_SIZE: "0",
  };
  url = `http://127.0.0.1:${port}`;
  await compose("up", "-d");
});

after(async () => {
  if (env) await compose("down", "-v").catch((e: Error) => console.error(e.message));
  if (secrets) rmSync(secrets, { recursive: true, force: true });
});

async function mendContainer(): Promise<string> {
  return (
    await run("docker", [
      "ps",
      "-aq",
      "--filter",
      `label=com.docker.compose.project=${project}`,
      "--filter",
      `label=com.docker.compose.service=mend`,
    ])
  ).stdout.trim();
}

describe("deploy/compose.yaml", () => {
  it("comes up healthy on PostgreSQL with the first key in a 0600 file, and runs a container", async (t) => {
    if (skipped) return t.skip(skipped);
    const id = await mendContainer();
    assert.ok(id, "the mend service has a container");
    const deadline = Date.now() + 180_000;
    for (;;) {
      const h = (await run("docker", ["inspect", "--format", "{{.State.Health.Status}}", id])).stdout.trim();
      if (h === "healthy") break;
      assert.ok(Date.now() < deadline, `mend is ${h} after 180 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const keyFile = join(secrets, "api-key");
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const key = readFileSync(keyFile, "utf8").trim();
    const logs = await compose("logs", "--no-color", "first-key");
    assert.ok(!(logs.stdout + logs.stderr).includes(key), "the key is not in the log");
    const health = await call(url, "GET", "/healthz");
    assert.equal(health.body.store.kind, "postgres", JSON.stringify(health.body));
    assert.equal((await call(url, "GET", "/v1/runs")).status, 401);
    const box = await call(
      url,
      "POST",
      "/v1/executions",
      { sandbox: "container", image: "python", code: "print(7 * 6)" },
      { authorization: `Bearer ${key}` },
    );
    assert.equal(box.body.status, "succeeded", JSON.stringify(box.body));
    assert.equal(box.body.stdout, "42\n");
    assert.equal(
      (
        await run("docker", [
          "inspect",
          "--format",
          "{{.HostConfig.PidMode}} {{.HostConfig.RestartPolicy.Name}}",
          id,
        ])
      ).stdout.trim(),
      "host unless-stopped",
    );
  });

  it("down -v removes every container of the project", async (t) => {
    if (skipped) return t.skip(skipped);
    await compose("down", "-v");
    const left = (
      await run("docker", ["ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`])
    ).stdout.trim();
    assert.equal(left, "");
  });
});
