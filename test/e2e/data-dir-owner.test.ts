// One owner per data dir, with real processes: a second service on the same SQLite data dir refuses to start
// with one line naming the holder; the lock dies with its holder (exit or SIGKILL); `mend keys` still works.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { call } from "../support/http-json.ts";

const MAIN = new URL("../../service/src/cli/main.ts", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "mend-owner-"));
const running: ServiceProcess[] = [];
after(async () => {
  for (const s of running) await s.stop("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `mend <args>` to its end on the data dir. */
function mend(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], {
      env: {
        ...process.env,
        MEND_DATA_DIR: dir,
        MEND_PORT: "0",
        MEND_LOG_LEVEL: "info",
        MEND_POOL_SIZE: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

async function serve(): Promise<ServiceProcess> {
  const s = await startService({}, dir);
  running.push(s);
  return s;
}

describe("one service per data dir", () => {
  it("refuses a second service with one line naming the holder, and exits non-zero", async () => {
    const first = await serve();
    const second = await mend(["serve"]);
    assert.notEqual(second.code, 0);
    const lines = second.stderr.trim().split("\n");
    assert.equal(lines.length, 1, second.stderr);
    assert.match(
      lines[0]!,
      new RegExp(
        `in use by another Mend process \\(pid ${first.child.pid} on host ${hostname()}, since \\d{4}-`,
      ),
    );
    assert.match(lines[0]!, /MEND_DATA_DIR=/);
    assert.ok(!second.stdout.includes("mend listening"));
    assert.equal((await call(first.url, "GET", "/healthz")).body.ok, true, "the holder keeps serving");
  });

  it("lets `mend keys` create and list keys while the service runs", async () => {
    const created = await mend(["keys", "create", "--tenant", "acme"]);
    assert.equal(created.code, 0, created.stderr);
    const listed = await mend(["keys", "list", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal((JSON.parse(listed.stdout) as { tenant: string }[])[0]!.tenant, "acme");
  });

  it("lets a new service start after the holder was killed with SIGKILL", async () => {
    const holder = running.pop()!;
    assert.equal((await holder.stop("SIGKILL")).signal, "SIGKILL");
    const next = await serve();
    assert.equal((await call(next.url, "GET", "/healthz")).status, 200);
    const refused = await mend(["serve"]);
    assert.match(refused.stderr, new RegExp(`pid ${next.child.pid} `), "the new holder is named");
  });

  it("lets a new service start after the holder exited gracefully", async () => {
    const holder = running.pop()!;
    assert.equal((await holder.stop("SIGTERM")).code, 0);
    const next = await serve();
    assert.equal((await call(next.url, "GET", "/healthz")).status, 200);
  });
});
