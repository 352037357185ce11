// The container runner interface: what the service's engine knows of Docker (nothing more).
import type { Failure } from "@mend/wire";
import type { EgressRecord } from "../egress/egress-proxy.ts";
import type { SandboxLoad } from "../fair-share/sandbox-load.ts";
import type { ContainerRuntime } from "./seccomp-profile.ts";
import type { PoolKeyStats } from "./pool-sizing.ts";

export interface ContainerLimits {
  memoryMb: number;
  cpus: number;
  timeoutMs: number;
  /** Size of the /workspace tmpfs (and cap on /workspace/out), MiB. */
  diskMb: number;
  pids: number;
  /** Cap on each of stdout and stderr, bytes; beyond it output is truncated and the failure is output_limit. */
  outputBytes: number;
  /** `none`: no network at all; allowlist: an internal network whose only peer is Mend's egress proxy. */
  network: ContainerNetwork;
}

/** How a container may reach the network. */
export type ContainerNetwork = "none" | { mode: "allowlist"; hosts: string[] };

export interface ContainerFile {
  path: string;
  content: Buffer;
}

export interface ContainerJob {
  /** Runtime image short name: "python" | "node" | "shell" (mapped to mend-runtime-<name>). */
  image: string;
  code: string;
  files?: ContainerFile[];
  stdin?: string;
  argv?: string[];
  env?: Record<string, string>;
  limits: ContainerLimits;
  /** OCI runtime: runc (default) or runsc (gVisor: a user-space kernel between the code and the host). */
  runtime?: ContainerRuntime;
  /** Extra labels (e.g. execution id) put on the container next to the Mend label. */
  labels?: Record<string, string>;
  /** Aborting kills the container; the outcome is then `interrupted`. */
  signal?: AbortSignal;
  /** Who the job is for: container capacity is shared fairly between tenants (see FairContainerRunner). */
  tenant?: string;
  /** The tenant's relative share when tenants compete (> 0; default 1). */
  weight?: number;
  /**
   * Called with user output as it arrives (within the `outputBytes` cap), for live display; the outcome's
   * stdout/stderr stay the record. Must not throw.
   */
  onOutput?: (stream: "stdout" | "stderr", text: string) => void;
}

export interface ContainerUsage {
  wallMs: number;
  /** Peak memory of the container's cgroup, from the engine (the host's view). */
  memoryPeakMb?: number;
  /** CPU time of the container's cgroup, from the engine (the host's view). */
  cpuMs?: number;
  /** Allowlist network only: every connection attempt through the egress proxy (bounded). */
  egress?: EgressRecord[];
  /** Attempts past the journal's bound, counted but not listed. */
  egressOmitted?: number;
  /** The OCI runtime the code ran on. */
  runtime?: ContainerRuntime;
  /** The Docker engine that ran the container (MEND_DOCKER_HOSTS name). */
  engine?: string;
  /** True when the result was read back after the engine came back from an outage (not observed live). */
  adopted?: boolean;
}

/** One engine's state as /healthz reports it. */
export interface EngineState {
  name: string;
  /** `up`: in placement; `down`: not answering (left out of placement until it answers again). */
  state: "up" | "down";
  version?: string;
  /** Containers of this runner on the engine (running jobs and idle pool). */
  containers: number;
  /** Memory the engine has (MiB) and what Mend's containers on it reserve. */
  memoryMb?: number;
  reservedMb: number;
  /** Why the engine is down (the last error), when it is. */
  error?: string;
}

/** One pooled image on one engine: its size bounds, target, demand, hits and misses, and memory cost. */
export interface PoolState extends PoolKeyStats {
  /** The image reference (e.g. `mend-runtime-python:latest`). */
  image: string;
  runtime: ContainerRuntime;
  /** The engine's name, when the runner places over several. */
  engine?: string;
}

interface OutcomeBase {
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  exitCode: number | null;
  /** Files the code wrote under /workspace/out, paths relative to it. */
  files: ContainerFile[];
  usage: ContainerUsage;
  /** True when the container came from the warm pool. */
  pooled: boolean;
}

/** The outcome of untrusted code: a value, never an exception. */
export type ContainerOutcome =
  (OutcomeBase & { status: "succeeded" }) | (OutcomeBase & { status: "failed"; failure: Failure });

export interface ContainerRunner {
  run(job: ContainerJob): Promise<ContainerOutcome>;
  /** Engine reachability for /healthz. */
  engineInfo(): Promise<{ available: boolean; version?: string }>;
  /** Short names of the runtime images present in the engine. */
  images(): Promise<string[]>;
  /** Removes containers left by an earlier process (janitor) and starts the warm pool. */
  start(): Promise<void>;
  /** Stops the pool and removes every container this runner created. Idempotent. */
  dispose(): Promise<void>;
  /** Containers running and jobs queued, per tenant (for /healthz), when the runner schedules them. */
  load?(): SandboxLoad;
  /** Idle warm containers per image (for metrics), when the runner keeps a pool. */
  poolIdle?(): Record<string, number>;
  /** Every pooled image's state per engine (for metrics and benchmarks), when the runner keeps a pool. */
  poolStats?(): PoolState[];
  /** Every engine's state (for /healthz), when the runner places over engines. */
  engines?(): EngineState[];
}
