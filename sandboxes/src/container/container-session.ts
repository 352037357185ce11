// One container's life: create + attach + start (ready for a job), then exactly one job, then gone.
import type Docker from "dockerode";
import type { Container, ContainerCreateOptions } from "dockerode";
import type { Duplex } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { CappedCapture } from "./output-capture.ts";
import { Demuxer, STDERR, STDOUT } from "./demux.ts";
import {
  encodeJob,
  endMarker,
  newNonce,
  parseLauncherResult,
  resultMarker,
  type LauncherResult,
} from "./job-protocol.ts";
import type { ContainerJob } from "./runner.ts";
import { readHostUsage, type HostUsage } from "./host-usage.ts";

/** How long after the engine's `die` event the attach stream may still deliver output. */
const GONE_GRACE_MS = 1000;

/** A started container whose launcher is waiting on stdin for its one job. */
export interface ReadyContainer {
  id: string;
  container: Container;
  /** Resolves when the attach stream closes (the container stopped or was removed). */
  ended: Promise<void>;
  /** False once the attach stream closed. */
  isAlive(): boolean;
  /** Receives demultiplexed output once a job is running. */
  setSink(sink: (stream: number, chunk: Buffer) => void): void;
  write(data: string): void;
  /** Tells a launcher that reported it may exit now (its host-side usage was read). */
  release(): void;
  close(): void;
  /** True once a job was handed to it: a container never serves two jobs. */
  used: boolean;
}

/**
 * Creates, attaches to and starts a hardened container; removes it again if any step fails.
 * `gone(id)`, when given, settles when the engine reports the container dead (its `die`/`destroy`
 * event): the container then counts as ended even if the attach stream has not closed yet.
 * @example const ready = await startContainer(docker, hardenedSpec({ image: "python", limits, labels }));
 */
export async function startContainer(
  docker: Docker,
  spec: ContainerCreateOptions,
  gone?: (id: string) => Promise<void>,
): Promise<ReadyContainer> {
  const container = await docker.createContainer(spec);
  try {
    const stream = (await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as unknown as Duplex;
    let alive = true;
    let sink: ((stream: number, chunk: Buffer) => void) | undefined;
    const early: [number, Buffer][] = [];
    const demux = new Demuxer((s, chunk) => {
      if (sink) sink(s, chunk);
      else early.push([s, Buffer.from(chunk)]);
    });
    stream.on("data", (c: Buffer) => demux.push(c));
    // a late write (the release after the usage read) may meet a closed stream: never an uncaught error
    stream.on("error", () => undefined);
    const ended = new Promise<void>((resolve) => {
      const done = (): void => {
        alive = false;
        resolve();
      };
      stream.once("end", done);
      stream.once("close", done);
      stream.once("error", done);
      // the attach stream may still carry the last output (the launcher's result): give it a moment
      gone?.(container.id).then(
        () => setTimeout(done, GONE_GRACE_MS).unref(),
        () => undefined,
      );
    });
    await container.start();
    return {
      id: container.id,
      container,
      ended,
      used: false,
      isAlive: () => alive,
      setSink(s) {
        sink = s;
        for (const [n, c] of early.splice(0)) s(n, c);
      },
      write(data) {
        stream.write(data);
      },
      release() {
        // a line on stdin ends the launcher's hold; a closed stream is no error here
        if (alive) stream.write("\n");
      },
      close() {
        stream.destroy();
      },
    };
  } catch (err) {
    await container.remove({ force: true }).catch(() => undefined);
    throw err;
  }
}

/** Raw observations of one job, for classification. */
export interface JobObservation {
  /** The job's marker nonce (to read the launcher's result again from the container's logs). */
  nonce: string;
  stdout: CappedCapture;
  stderr: CappedCapture;
  launcher?: LauncherResult;
  inspect?: { found: boolean; exitCode: number | null; oomKilled: boolean };
  timedOut: boolean;
  aborted: boolean;
  outputExceeded: boolean;
  pidsAtTimeout?: number;
  memoryPeakMbAtTimeout?: number;
  /** The engine's figures, read while the reporting launcher waits (absent when it never reported). */
  host?: HostUsage;
}

/**
 * Hands the job to a ready container and watches it until the launcher reports or the container
 * stops: enforces the wall-clock timeout and the output cap by killing the container.
 * @example const obs = await runJob(ready, job, 64 << 20);
 */
export async function runJob(
  ready: ReadyContainer,
  job: ContainerJob,
  outMaxBytes: number,
): Promise<JobObservation> {
  if (ready.used) throw new Error("a Mend container serves exactly one job");
  ready.used = true;
  const { limits } = job;
  const nonce = newNonce();
  const live = job.onOutput;
  const stdout = new CappedCapture(
    limits.outputBytes,
    endMarker(nonce),
    undefined,
    live && ((text) => live("stdout", text)),
  );
  const stderr = new CappedCapture(
    limits.outputBytes,
    resultMarker(nonce),
    Math.ceil(outMaxBytes * 1.4) + 1024 * 1024,
    live && ((text) => live("stderr", text)),
  );
  const obs: JobObservation = {
    nonce,
    stdout,
    stderr,
    timedOut: false,
    aborted: false,
    outputExceeded: false,
  };

  let finish: () => void = () => undefined;
  const reported = new Promise<void>((resolve) => (finish = resolve));
  let killing: Promise<unknown> | undefined;
  const kill = (): void => {
    killing ??= ready.container.kill({ signal: "SIGKILL" }).catch(() => undefined);
  };

  ready.setSink((s, chunk) => {
    if (s === STDOUT) stdout.push(chunk);
    else if (s === STDERR) stderr.push(chunk);
    if (!obs.outputExceeded && (stdout.truncated || stderr.truncated)) {
      obs.outputExceeded = true;
      kill();
    }
    if (stdout.markerSeen && stderr.markerSeen) finish();
  });

  const timer = setTimeout(() => {
    obs.timedOut = true;
    void (async () => {
      // sample pids/memory before the kill: a fork bomb that ran into the timeout is pids_limit
      const stats = await Promise.race([
        ready.container.stats({ stream: false, "one-shot": true }).catch(() => undefined),
        delay(500, undefined, { ref: false }),
      ]);
      const pids = (stats as { pids_stats?: { current?: number } } | undefined)?.pids_stats?.current;
      if (typeof pids === "number") obs.pidsAtTimeout = pids;
      const maxUsage = (stats as { memory_stats?: { max_usage?: number } } | undefined)?.memory_stats
        ?.max_usage;
      if (typeof maxUsage === "number" && maxUsage > 0) obs.memoryPeakMbAtTimeout = maxUsage / 1048576;
      kill();
    })().catch(kill);
  }, limits.timeoutMs);
  const onAbort = (): void => {
    obs.aborted = true;
    kill();
  };
  if (job.signal?.aborted) onAbort();
  job.signal?.addEventListener("abort", onAbort, { once: true });

  try {
    ready.write(encodeJob(job, nonce, outMaxBytes));
  } catch {
    // the container is already gone; `ended` settles and the outcome says so
  }
  await Promise.race([reported, ready.ended]);
  clearTimeout(timer);
  job.signal?.removeEventListener("abort", onAbort);
  stdout.end();
  stderr.end();

  const launcher = stdout.markerSeen ? parseLauncherResult(stderr.payload()) : undefined;
  if (launcher !== undefined && !obs.timedOut && !obs.aborted && !obs.outputExceeded) {
    // The stream stays open while the launcher holds the container (a burst's hold): what a leftover
    // background process prints now is not the job's output, and must not count against its cap (a kill).
    ready.setSink(() => undefined);
    obs.launcher = launcher;
    // the launcher holds the container open after its report: read the cgroup from the host's side
    obs.host = await readHostUsage(ready.container);
    // the launcher holds the container until told (ReadyContainer.release): its exit is the runner's to time
    return obs;
  }
  if (killing !== undefined) await killing;
  await Promise.race([ready.ended, delay(2000, undefined, { ref: false })]);
  // A SIGKILL nobody here sent may be an OOM kill that gVisor reports only after the exit, so under runsc
  // (the job's, or the engine's default: inspect says which one ran it) the flag is waited for; under runc
  // the flag is set by the time the container has exited, so a container killed from outside is known at once.
  obs.inspect = await inspectState(ready.container, killing === undefined);
  if (launcher !== undefined) obs.launcher = launcher;
  return obs;
}

const SIGKILLED = 137;
/**
 * How long a SIGKILL nobody here sent may take to show as an OOM kill in the engine's state under runsc.
 * Generous because a loaded machine delays the engine's OOM event; only a kill from outside pays it.
 */
const RUNSC_OOM_FLAG_WAIT_MS = 5000;

async function inspectState(
  container: Container,
  awaitLateOomFlag: boolean,
): Promise<JobObservation["inspect"]> {
  try {
    let info = await container.inspect();
    if (info.State.Running) {
      await container.wait().catch(() => undefined);
      info = await container.inspect();
    }
    // the engine learns of an OOM kill from an event that can come after the exit (gVisor: the whole
    // sandbox is the OOM killer's victim), so a SIGKILL we did not send is looked at a little longer
    const deadline = Date.now() + RUNSC_OOM_FLAG_WAIT_MS;
    while (
      awaitLateOomFlag &&
      info.HostConfig.Runtime === "runsc" &&
      !info.State.OOMKilled &&
      info.State.ExitCode === SIGKILLED &&
      Date.now() < deadline
    ) {
      await delay(100);
      info = await container.inspect();
    }
    return { found: true, exitCode: info.State.ExitCode, oomKilled: info.State.OOMKilled };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404)
      return { found: false, exitCode: null, oomKilled: false };
    return undefined;
  }
}
