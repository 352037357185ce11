// A job whose engine stopped answering mid-run: wait for the engine, then adopt the finished container's result.
import type { Container, ContainerCreateOptions } from "dockerode";
import { setTimeout as delay } from "node:timers/promises";
import type { JobObservation } from "./container-session.ts";
import { Demuxer, STDERR, STDOUT } from "./demux.ts";
import { endMarker, parseLauncherResult, resultMarker } from "./job-protocol.ts";
import { CappedCapture } from "./output-capture.ts";
import type { ContainerJob, ContainerLimits } from "./runner.ts";

const MiB = 1024 * 1024;
/** How often the engine is asked again while it does not answer, or while the container still runs. */
const POLL_MS = 100;
/** While the container still runs, its logs are read every this many polls. */
const LOG_POLL_EVERY = 5;

/**
 * Keeps the container's output in the engine (the bounded `local` log driver) so that a job whose
 * attach stream broke can still be read back once it has exited; the cap covers the output limits
 * and the launcher's result (which carries /workspace/out, up to 64 MiB of it).
 * @example await docker.createContainer(withKeptLogs(hardenedSpec(input), input.limits));
 */
export function withKeptLogs(spec: ContainerCreateOptions, limits: ContainerLimits): ContainerCreateOptions {
  // at most 64 MiB of /workspace/out on top of the output: a larger result is not adopted (container_lost)
  const maxMb = Math.ceil((2 * limits.outputBytes) / MiB + Math.min(limits.diskMb * 1.4, 64) + 2);
  return {
    ...spec,
    HostConfig: {
      ...spec.HostConfig,
      LogConfig: { Type: "local", Config: { "max-size": `${maxMb}m`, "max-file": "1", compress: "false" } },
    },
  };
}

/**
 * True when the observation ended because the engine could not be reached: no launcher result, no
 * state (inspect failed on the connection, not with a 404), and nothing the runner itself did.
 * @example if (lostToEngine(obs)) await adoptAfterOutage(container, job, obs, { outageMs, startedAt });
 */
export function lostToEngine(obs: JobObservation): boolean {
  return (
    obs.launcher === undefined &&
    obs.inspect === undefined &&
    !obs.timedOut &&
    !obs.aborted &&
    !obs.outputExceeded
  );
}

export interface AdoptOptions {
  /** How long the engine may stay unreachable before the job is given up as `container_lost`. */
  outageMs: number;
  /** `performance.now()` when the job started: its wall-clock limit still holds during the outage. */
  startedAt: number;
}

/**
 * Waits up to `outageMs` for the engine to answer about the container. A container that exited is
 * read back from its logs: with the launcher's result the observation becomes that result and this
 * returns true (adopted). A container still running is waited for within the job's own timeout. A
 * container the engine no longer knows, or an engine that stays away, leaves `obs` without a result
 * (then the job is `container_lost`). Mutates `obs`.
 * @example const adopted = await adoptAfterOutage(ready.container, job, obs, { outageMs: 10_000, startedAt });
 */
export async function adoptAfterOutage(
  container: Container,
  job: ContainerJob,
  obs: JobObservation,
  opts: AdoptOptions,
): Promise<boolean> {
  const deadline = Date.now() + opts.outageMs;
  let polls = 0;
  for (;;) {
    if (job.signal?.aborted) {
      obs.aborted = true;
      await container.kill({ signal: "SIGKILL" }).catch(() => undefined);
      return false;
    }
    let state: { Running: boolean; ExitCode: number; OOMKilled: boolean };
    try {
      state = (await container.inspect({ abortSignal: AbortSignal.timeout(1000) } as object)).State;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) {
        obs.inspect = { found: false, exitCode: null, oomKilled: false };
        return false;
      }
      if (Date.now() >= deadline) return false;
      await delay(POLL_MS);
      continue;
    }
    if (state.Running) {
      if (performance.now() - opts.startedAt > job.limits.timeoutMs) {
        obs.timedOut = true;
        await container.kill({ signal: "SIGKILL" }).catch(() => undefined);
        obs.inspect = await stoppedState(container);
        return false;
      }
      // a launcher that has reported may hold the container open until the host answers: read it now
      if (++polls % LOG_POLL_EVERY === 0 && (await readBack(container, job.limits, obs))) return true;
      await delay(POLL_MS);
      continue;
    }
    obs.inspect = { found: true, exitCode: state.ExitCode, oomKilled: state.OOMKilled };
    return readBack(container, job.limits, obs);
  }
}

/** The container's state once it has stopped after a kill (polled, bounded: never hangs on the engine). */
async function stoppedState(container: Container): Promise<JobObservation["inspect"]> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    try {
      const i = await container.inspect({ abortSignal: AbortSignal.timeout(1000) } as object);
      if (!i.State.Running) return { found: true, exitCode: i.State.ExitCode, oomKilled: i.State.OOMKilled };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404)
        return { found: false, exitCode: null, oomKilled: false };
    }
    await delay(POLL_MS);
  }
  return undefined;
}

/** Reads the exited container's logs as the attach stream would have delivered them. */
async function readBack(
  container: Container,
  limits: ContainerLimits,
  obs: JobObservation,
): Promise<boolean> {
  let logs: Buffer;
  try {
    logs = await container.logs({ stdout: true, stderr: true, follow: false });
  } catch {
    return false; // no logs kept (log driver none) or gone meanwhile
  }
  const stdout = new CappedCapture(limits.outputBytes, endMarker(obs.nonce));
  const stderr = new CappedCapture(
    limits.outputBytes,
    resultMarker(obs.nonce),
    Math.ceil(limits.diskMb * MiB * 1.4) + MiB,
  );
  new Demuxer((s, chunk) => {
    if (s === STDOUT) stdout.push(chunk);
    else if (s === STDERR) stderr.push(chunk);
  }).push(logs);
  stdout.end();
  stderr.end();
  const launcher = stdout.markerSeen ? parseLauncherResult(stderr.payload()) : undefined;
  if (launcher === undefined) return false;
  obs.stdout = stdout;
  obs.stderr = stderr;
  obs.launcher = launcher;
  obs.outputExceeded = stdout.truncated || stderr.truncated;
  return true;
}
