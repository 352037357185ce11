// A Docker engine of the tests' own (a second dockerd beside the machine's), with the sandbox images loaded.
//
// It runs under `unshare --net` because a dockerd started with --bridge=none deletes the docker0
// bridge of its network namespace: in the host's namespace that would break the machine's engine.
// Its data root is a cache slot keyed by the images' ids, so the images are loaded once per slot;
// a slot is held by one process at a time (a lock file with the holder's pid).
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import Docker from "dockerode";

const run = promisify(execFile);
const CACHE = "/var/tmp/mend-test-dockerd";
const SLOTS = 3;

export interface SecondDockerd {
  socketPath: string;
  docker: Docker;
  /** The dockerd's pid (the process to SIGKILL in chaos tests). */
  readonly pid: number;
  /** SIGKILL, as a crash would: containers (shims) may survive until the engine starts again. */
  kill(): Promise<void>;
  /** Starts the engine again on the same data root (after kill or stop). */
  restart(): Promise<void>;
  /** Graceful stop, then frees the slot. Idempotent. */
  stop(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

/**
 * Kills what a SIGKILLed engine of `execRoot` left below Docker's view: containerd shims of containers
 * it was creating when it died (their `runc init` children never start), which no engine knows any more.
 */
async function killLeftoverShims(execRoot: string): Promise<void> {
  const address = `${execRoot}/containerd/containerd.sock`;
  const pids = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const shims = new Set(
    pids.filter((p) => cmdline(p).includes("containerd-shim") && cmdline(p).includes(address)),
  );
  if (shims.size === 0) return;
  const parentOf = (p: number): number => {
    try {
      return Number(readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
    } catch {
      return 0;
    }
  };
  const children = pids.filter((p) => shims.has(parentOf(p)));
  for (const p of [...children, ...shims]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
  const until = Date.now() + 10_000;
  while ([...shims].some(isAlive) && Date.now() < until) await delay(50);
}

async function imagesKey(images: string[]): Promise<string> {
  const { stdout } = await run("docker", ["image", "inspect", "--format", "{{.Id}}", ...images]);
  return createHash("sha256").update(stdout).digest("hex").slice(0, 16);
}

/** Takes a free slot (its lock holds our pid), killing a dockerd a dead holder left running. */
async function acquireSlot(deadlineMs: number): Promise<number> {
  mkdirSync(CACHE, { recursive: true });
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    for (let slot = 0; slot < SLOTS; slot++) {
      const lock = `${CACHE}/slot${slot}.lock`;
      try {
        const fd = openSync(lock, "wx");
        writeFileSync(fd, String(process.pid));
        closeSync(fd);
        return slot;
      } catch {
        const holder = Number(readFileSync(lock, "utf8").trim() || "0");
        if (holder > 0 && isAlive(holder)) continue;
        const pidfile = `${CACHE}/slot${slot}.pid`;
        const stale = existsSync(pidfile) ? Number(readFileSync(pidfile, "utf8").trim()) : 0;
        // only the dockerd of this slot (a pid may have been reused by another process since)
        if (stale > 0 && isAlive(stale) && cmdline(stale).includes(`${CACHE}/slot${slot}-data`))
          process.kill(stale, "SIGKILL");
        rmSync(lock, { force: true });
      }
    }
    if (Date.now() > deadline) throw new Error("no free second-dockerd slot");
    await delay(500);
  }
}

async function waitForEngine(docker: Docker, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (
      await docker.ping().then(
        () => true,
        () => false,
      )
    )
      return;
    await delay(200);
  }
  const log = existsSync(logPath) ? readFileSync(logPath, "utf8").split("\n").slice(-20).join("\n") : "";
  throw new Error(`the second dockerd did not answer:\n${log}`);
}

/** Pipes `docker save` of the machine's engine into `docker load` of the second one. */
async function loadImages(images: string[], socketPath: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const save = spawn("docker", ["save", ...images], { stdio: ["ignore", "pipe", "inherit"] });
    const load = spawn("docker", ["-H", `unix://${socketPath}`, "load", "-q"], {
      stdio: ["pipe", "ignore", "inherit"],
    });
    save.stdout.pipe(load.stdin);
    let pending = 2;
    const done = (code: number | null) => {
      if (code !== 0) reject(new Error(`docker save | docker load exited ${code}`));
      else if (--pending === 0) resolve();
    };
    save.once("exit", done);
    load.once("exit", done);
  });
}

/**
 * Starts a second dockerd of this test process (own socket, data root, exec root, pidfile; no
 * bridge, no iptables; own network namespace) with `images` loaded from the machine's engine.
 * @example
 * const d2 = await startSecondDockerd(["mend-runtime-python:latest"]); t.after(() => d2.stop());
 */
export async function startSecondDockerd(images = ["mend-runtime-python:latest"]): Promise<SecondDockerd> {
  const key = await imagesKey(images);
  const slot = await acquireSlot(300_000);
  const dataRoot = `${CACHE}/slot${slot}-data`;
  const execRoot = `/run/mend-d2-${slot}`;
  const socketPath = `/run/mend-d2-${slot}.sock`;
  const pidfile = `${CACHE}/slot${slot}.pid`;
  const logPath = `${CACHE}/slot${slot}.log`;
  const docker = new Docker({ socketPath });
  let child: ChildProcess | undefined;
  let stopped = false;

  const launch = async (): Promise<void> => {
    // a containerd left by a killed dockerd makes the next one wait for it: end it, forget its pid
    const cpid = `${execRoot}/containerd/containerd.pid`;
    const old = existsSync(cpid) ? Number(readFileSync(cpid, "utf8").trim()) : 0;
    if (old > 0 && isAlive(old) && cmdline(old).includes(execRoot)) {
      process.kill(old, "SIGKILL");
      const until = Date.now() + 10_000;
      while (isAlive(old) && Date.now() < until) await delay(50);
    }
    rmSync(cpid, { force: true });
    await killLeftoverShims(execRoot);
    rmSync(socketPath, { force: true });
    const log = openSync(logPath, "a");
    child = spawn(
      "unshare",
      [
        "--net",
        "--",
        "dockerd",
        `--host=unix://${socketPath}`,
        `--data-root=${dataRoot}`,
        `--exec-root=${execRoot}`,
        `--pidfile=${pidfile}`,
        "--bridge=none",
        "--iptables=false",
        "--ip-masq=false",
        `--cgroup-parent=/mend-d2-${slot}`,
        "--log-level=warn",
      ],
      { stdio: ["ignore", log, log] },
    );
    closeSync(log);
    child.unref();
    await waitForEngine(docker, child, logPath);
  };

  try {
    await launch();
    const marker = `${dataRoot}/.mend-images-${key}`;
    if (!existsSync(marker)) {
      await loadImages(images, socketPath);
      writeFileSync(marker, images.join("\n"));
    }
  } catch (err) {
    if (child?.pid !== undefined && isAlive(child.pid)) child.kill("SIGKILL");
    rmSync(`${CACHE}/slot${slot}.lock`, { force: true });
    throw err;
  }

  const waitExit = async (c: ChildProcess, ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined || !isAlive(c.pid)) return true;
      await delay(100);
    }
    return false;
  };

  return {
    socketPath,
    docker,
    get pid() {
      return child?.pid ?? 0;
    },
    async kill() {
      const c = child;
      if (c?.pid === undefined) return;
      c.kill("SIGKILL");
      await waitExit(c, 30_000);
    },
    async restart() {
      const c = child;
      if (c?.pid !== undefined && isAlive(c.pid)) throw new Error("the second dockerd is still running");
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const c = child;
      if (c?.pid !== undefined && isAlive(c.pid)) {
        // containers of the tests are removed by their runners; anything else stops with the engine
        const left = await docker.listContainers({ all: true }).catch(() => []);
        await Promise.allSettled(left.map((x) => docker.getContainer(x.Id).remove({ force: true })));
        c.kill("SIGTERM");
        if (!(await waitExit(c, 30_000))) {
          c.kill("SIGKILL");
          await waitExit(c, 10_000);
        }
      }
      await killLeftoverShims(execRoot);
      rmSync(socketPath, { force: true });
      rmSync(`${CACHE}/slot${slot}.lock`, { force: true });
    },
  };
}
