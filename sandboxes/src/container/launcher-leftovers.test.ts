// The in-container launcher (images/launcher/launch.py) against the real Docker engine, in the hardened
// container the runner starts: once the code's main process exits, what it left running in the background
// (a child, a process in its own session writing a file) is gone before the launcher reports, while the
// launcher still holds the container for the host's usage read (a burst's hold).
// The image is the runtime's with the launcher of these sources copied over it, so the test checks this
// checkout's launcher whatever images/build last built.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import Docker from "dockerode";
import { DEFAULT_CONTAINER_LIMITS } from "./docker-runner.ts";
import { hardenedSpec } from "./host-config.ts";
import { startContainer, type ReadyContainer } from "./container-session.ts";
import { STDOUT } from "./demux.ts";
import { endMarker, newNonce } from "./job-protocol.ts";

const run = promisify(execFile);
const docker = new Docker({ socketPath: "/var/run/docker.sock" });
const LAUNCHER = new URL("../../../images/launcher/launch.py", import.meta.url);
const hash = createHash("sha256").update(readFileSync(LAUNCHER)).digest("hex").slice(0, 12);
const images: string[] = [];

/** The runtime image `runtime` with this checkout's launcher: `mend-launcher-test-<runtime>:<hash>`. */
async function withThisLauncher(runtime: string): Promise<string> {
  const tag = `mend-launcher-test-${runtime}:${hash}`;
  const dir = mkdtempSync(join(tmpdir(), "mend-launcher-"));
  try {
    copyFileSync(LAUNCHER, join(dir, "launch.py"));
    writeFileSync(
      join(dir, "Dockerfile"),
      `FROM mend-runtime-${runtime}:latest\nUSER 0\nCOPY launch.py /opt/mend/launch.py\nRUN chmod a+r /opt/mend/launch.py\nUSER 65534:65534\n`,
    );
    await run("docker", ["build", "-q", "-t", tag, dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  images.push(tag);
  return tag;
}

/** Runs `code` and answers the container's processes as they are once its launcher has reported. */
async function processesAfterReport(image: string, code: string): Promise<string[]> {
  const ready: ReadyContainer = await startContainer(
    docker,
    hardenedSpec({
      image,
      limits: { ...DEFAULT_CONTAINER_LIMITS, timeoutMs: 60_000 },
      labels: { "mend.test": "launcher-leftovers" },
    }),
  );
  try {
    const nonce = newNonce();
    let stdout = "";
    const reported = new Promise<void>((resolve) => {
      ready.setSink((stream, chunk) => {
        if (stream !== STDOUT) return;
        stdout += chunk.toString("utf8");
        if (stdout.includes(endMarker(nonce))) resolve();
      });
    });
    ready.write(`${JSON.stringify({ nonce, code })}\n`);
    await Promise.race([reported, ready.ended]);
    assert.ok(stdout.includes("started"), stdout);
    assert.ok(stdout.includes(endMarker(nonce)), `no report: ${stdout}`);
    // The launcher holds the container now (stdin open): what is left running is visible from the host.
    const top = await ready.container.top({ ps_args: "-o pid,args" });
    return (top.Processes as string[][]).map((p) => p.at(-1) ?? "");
  } finally {
    ready.close();
    await ready.container.remove({ force: true }).catch(() => undefined);
  }
}

/** The processes a held container may have: the engine's init and the launcher. */
const onlyInitAndLauncher = (procs: string[]) => {
  assert.equal(procs.length, 2, procs.join("\n"));
  assert.ok(
    procs.some((p) => p.includes("docker-init")),
    procs.join("\n"),
  );
  assert.ok(
    procs.some((p) => p.includes("launch.py")),
    procs.join("\n"),
  );
};

let shell: string;
let python: string;
before(async () => {
  [shell, python] = await Promise.all([withThisLauncher("shell"), withThisLauncher("python")]);
});
after(async () => {
  for (const tag of images)
    await docker
      .getImage(tag)
      .remove()
      .catch(() => undefined);
});

void describe("the launcher, once the code's main process exits", () => {
  void test("kills what a shell script left in the background, a new session's writer included, before it reports", async () => {
    const code = [
      "sleep 300 &",
      "setsid sh -c 'while :; do echo x >> /workspace/late.txt; done' &",
      "while [ ! -s /workspace/late.txt ]; do :; done # the writer runs",
      "echo started",
    ].join("\n");
    onlyInitAndLauncher(await processesAfterReport(shell, code));
  });

  void test("kills the processes a Python program started and did not wait for, before it reports", async () => {
    const code = [
      "import subprocess, os",
      "subprocess.Popen(['sleep', '300'])",
      "subprocess.Popen(['sleep', '301'], start_new_session=True)",
      "if os.fork() == 0:",
      "    while True: pass",
      "print('started', flush=True)",
    ].join("\n");
    onlyInitAndLauncher(await processesAfterReport(python, code));
  });
});
