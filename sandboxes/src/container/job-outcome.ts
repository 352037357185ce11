// How a container job's observation becomes its ContainerOutcome: usage, classified failure, files, egress.
import { makeFailure, type Failure } from "@mend/wire";
import { classify } from "./classify.ts";
import type { JobObservation } from "./container-session.ts";
import { untarFiles } from "./out-files.ts";
import type { ContainerRuntime } from "./seccomp-profile.ts";
import { withEgress } from "../egress/egress-outcome.ts";
import type { EgressJournal } from "../egress/egress-proxy.ts";
import type { ContainerFile, ContainerJob, ContainerOutcome } from "./runner.ts";

/** What the runner knows of a job beside the observation: how it ran, and where. */
export interface OutcomeContext {
  job: ContainerJob;
  runtime: ContainerRuntime;
  /** From the run's start to the egress journal's close, ms. */
  wallMs: number;
  /** The most bytes the job's out files may take once extracted. */
  outMaxBytes: number;
  /** Whether the container came from the warm pool. */
  pooled: boolean;
  /** Whether the result was adopted after an engine outage. */
  adopted: boolean;
  /** The engine's name for `usage.engine`, if it has one. */
  engine: string | undefined;
  /** The egress proxy's journal of an allowlist job. */
  journal: EgressJournal | undefined;
}

/**
 * The outcome of a job that ran: usage from the host's view, the failure classify() finds, the out files.
 * @example const outcome = await jobOutcome(obs, { job, runtime: "runc", wallMs: 812, outMaxBytes, pooled: true, adopted: false, engine: undefined, journal: undefined })
 */
export async function jobOutcome(obs: JobObservation, c: OutcomeContext): Promise<ContainerOutcome> {
  const { job, runtime, wallMs, outMaxBytes, pooled, adopted, journal } = c;
  const net = job.limits.network;
  const L = obs.launcher;
  // usage from the host's view only: the launcher's own figures are not trusted for it
  const peakBytes = obs.host?.memoryPeakBytes;
  const memoryPeakMb = peakBytes === undefined ? obs.memoryPeakMbAtTimeout : round1(peakBytes / 1048576);
  const cpuNs = obs.host?.cpuNs;
  const failure = classify({
    limits: job.limits,
    wallMs,
    ...(L === undefined ? {} : { launcher: L }),
    ...(obs.inspect === undefined ? {} : { inspect: obs.inspect }),
    ...(obs.host?.oomKilled === undefined ? {} : { hostOomKilled: obs.host.oomKilled }),
    timedOut: obs.timedOut,
    aborted: obs.aborted,
    outputExceeded: obs.outputExceeded,
    // under runsc the host's pids are gVisor's own threads and stubs, not the code's processes
    ...(obs.pidsAtTimeout === undefined || runtime === "runsc" ? {} : { pidsAtTimeout: obs.pidsAtTimeout }),
    ...(memoryPeakMb === undefined ? {} : { memoryPeakMb }),
    stdoutTail: obs.stdout.text(),
    stderrTail: obs.stderr.text(),
  });
  let files: ContainerFile[] = [];
  if (L?.outTarBase64 !== undefined) {
    files = await untarFiles(Buffer.from(L.outTarBase64, "base64"), outMaxBytes).catch(() => []);
  }
  const base = {
    stdout: obs.stdout.text(),
    stderr: obs.stderr.text(),
    stdoutTruncated: obs.stdout.truncated,
    stderrTruncated: obs.stderr.truncated,
    exitCode: L?.exitCode ?? obs.inspect?.exitCode ?? null,
    files,
    usage: {
      wallMs: round1(wallMs),
      ...(memoryPeakMb === undefined ? {} : { memoryPeakMb }),
      ...(cpuNs === undefined ? {} : { cpuMs: round1(cpuNs / 1e6) }),
      runtime,
      ...(c.engine === undefined ? {} : { engine: c.engine }),
      ...(adopted ? { adopted } : {}),
    },
    pooled,
  };
  const outcome: ContainerOutcome =
    failure === undefined ? { ...base, status: "succeeded" } : { ...base, status: "failed", failure };
  return journal === undefined || net === "none" ? outcome : withEgress(outcome, journal, net.hosts);
}

/**
 * The outcome of a job that never started (no container, no egress network): only its failure and wall time.
 * @example failedBeforeStart(egressUnavailable(err), 12.3, "runc").status // "failed"
 */
export function failedBeforeStart(
  failure: Failure,
  wallMs: number,
  runtime: ContainerRuntime,
): ContainerOutcome {
  return {
    status: "failed",
    failure: { ...failure, usage: { wallMs: round1(wallMs) } },
    stdout: "",
    stderr: "",
    stdoutTruncated: false,
    stderrTruncated: false,
    exitCode: null,
    files: [],
    usage: { wallMs: round1(wallMs), runtime },
    pooled: false,
  };
}

/**
 * The failure of an allowlist job whose egress network could not be set up.
 * @example egressUnavailable(new Error("EPERM")).kind // "sandbox_unavailable"
 */
export function egressUnavailable(err: unknown): Failure {
  return makeFailure(
    "sandbox_unavailable",
    `allowlist networking could not be set up: ${(err as Error).message}`,
    false,
    {
      remedy: {
        action: "retry_later",
        hint: "run without network, or ask the operator (root and a local engine are needed)",
      },
    },
  );
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
