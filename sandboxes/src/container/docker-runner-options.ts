// The options of a DockerRunner: which engine, the warm pool's sizes and bounds, janitor, egress, outages.
import type Docker from "dockerode";
import type { EgressCheckFactory } from "../egress/egress-session.ts";
import type { ContainerLimits } from "./runner.ts";

/**
 * How a DockerRunner reaches its engine and what it keeps warm there.
 * @example const options: DockerRunnerOptions = { pool: { python: 2 }, poolMax: 8 }; new DockerRunner(options)
 */
export interface DockerRunnerOptions {
  /** Unix socket of the engine; default DOCKER_HOST (unix://…) or /var/run/docker.sock. */
  socketPath?: string;
  /** A ready dockerode client (e.g. a remote engine); overrides socketPath. */
  docker?: Docker;
  /** Warm runc containers per image for `poolLimits`, e.g. `{ python: 2 }`; 0 or absent disables. */
  pool?: Partial<Record<string, number>>;
  /** Warm runsc (gVisor) containers per image, e.g. `{ python: 1 }`: a pool of its own per runtime. */
  runscPool?: Partial<Record<string, number>>;
  /** The limits class pooled containers are created with; jobs with other limits go cold. */
  poolLimits?: Partial<ContainerLimits>;
  /**
   * The most containers one pooled image (per runtime) grows to while misses show demand; the sizes above
   * are the minimums kept when idle. Default: no growth (the pool stays at its sizes).
   */
  poolMax?: number;
  /** A grown pool shrinks back after this long without a miss, ms (default 60 s). */
  poolIdleMs?: number;
  /** Memory the idle pooled containers of this engine may hold together, MiB (default: unbounded). */
  poolMemoryMb?: number;
  /** Pool containers created at once (default 2): refills do not crowd out the engine. */
  poolRefills?: number;
  /**
   * The longest refills and the exits and removals of used containers wait for this engine's jobs in
   * flight to drain, ms (default 500; 0: they do not wait). See BurstHold.
   */
  burstHoldMs?: number;
  /** Identity put in the mend.owner label; default a random id per instance. */
  ownerId?: string;
  /** Remove orphaned Mend containers of dead processes in start(). Default true. */
  janitor?: boolean;
  /** Allowlist jobs: the destination check per allowlist (default: allowlisted host:port, resolved once). */
  egressCheck?: EgressCheckFactory;
  /** The engine's name, reported as `usage.engine` (see MultiEngineRunner). */
  engine?: string;
  /**
   * How long a job whose engine stopped answering waits for it to come back, ms; a container that
   * finished meanwhile has its result adopted (`usage.adopted`). 0 (default): lost at once.
   */
  outageMs?: number;
  /** Settles when the engine reports a container dead (its events, see EngineWatch). */
  gone?: (id: string) => Promise<void>;
}

/**
 * The engine's socket when none is given: DOCKER_HOST when it names a unix socket, else Docker's default.
 * @example new Docker({ socketPath: options.socketPath ?? defaultSocketPath() })
 */
export function defaultSocketPath(): string {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith("unix://")) return host.slice("unix://".length);
  return "/var/run/docker.sock";
}
