// The ContainerRunner on a real Docker engine: one hardened container per execution, warm pool, janitor.
import Docker from "dockerode";
import { randomBytes } from "node:crypto";
import type { Failure } from "@mend/wire";
import { classify, engineFailure } from "./classify.ts";
import { runJob, startContainer, type JobObservation, type ReadyContainer } from "./container-session.ts";
import { hardenedSpec, limitsClass, runtimeName } from "./host-config.ts";
import { LABEL_EXECUTION, LABEL_POOLED, ownerLabels } from "./labels.ts";
import { removeOwned, sweepOrphans } from "./janitor.ts";
import { adoptAfterOutage, lostToEngine, withKeptLogs } from "./engine-outage.ts";
import { OrphanReaper } from "./orphan-reaper.ts";
import { untarFiles } from "./out-files.ts";
import { WarmPool } from "./pool.ts";
import type {
  ContainerFile,
  ContainerJob,
  ContainerLimits,
  ContainerOutcome,
  ContainerRunner,
} from "./runner.ts";

/** Limits used when none are given, and the limits class the warm pool is built for. */
export const DEFAULT_CONTAINER_LIMITS: ContainerLimits = {
  memoryMb: 256,
  cpus: 1,
  timeoutMs: 10_000,
  diskMb: 64,
  pids: 128,
  outputBytes: 1024 * 1024,
  network: "none",
};

export interface DockerRunnerOptions {
  /** Unix socket of the engine; default DOCKER_HOST (unix://…) or /var/run/docker.sock. */
  socketPath?: string;
  /** A ready dockerode client (e.g. a remote engine); overrides socketPath. */
  docker?: Docker;
  /** Warm containers per runtime for `poolLimits`, e.g. `{ python: 2 }`; 0 or absent disables. */
  pool?: Partial<Record<string, number>>;
  /** The limits class pooled containers are created with; jobs with other limits go cold. */
  poolLimits?: Partial<ContainerLimits>;
  /** Identity put in the mend.owner label; default a random id per instance. */
  ownerId?: string;
  /** Remove orphaned Mend containers of dead processes in start(). Default true. */
  janitor?: boolean;
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
 * Runs untrusted Python/Node/shell code in one-shot hardened containers.
 * @example
 * const runner = new DockerRunner({ pool: { python: 2 } });
 * await runner.start();
 * const out = await runner.run({ image: "python", code: "print(6*7)", limits: DEFAULT_CONTAINER_LIMITS });
 * out.stdout; // "42\n"
 * await runner.dispose();
 */
export class DockerRunner implements ContainerRunner {
  readonly ownerId: string;
  readonly #docker: Docker;
  readonly #pool: WarmPool;
  readonly #poolLimits: ContainerLimits;
  readonly #janitor: boolean;
  readonly #engine: string | undefined;
  readonly #outageMs: number;
  readonly #gone: ((id: string) => Promise<void>) | undefined;
  readonly #reaper: OrphanReaper;
  /** Names of containers being created (not yet live): reconcile() leaves them alone. */
  readonly #creating = new Set<string>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #live = new Set<ReadyContainer>();
  #disposed = false;
  #startedOnce = false;

  constructor(options: DockerRunnerOptions = {}) {
    this.ownerId = options.ownerId ?? `runner_${randomBytes(6).toString("hex")}`;
    this.#docker = options.docker ?? new Docker({ socketPath: options.socketPath ?? defaultSocketPath() });
    this.#janitor = options.janitor ?? true;
    this.#engine = options.engine;
    this.#outageMs = options.outageMs ?? 0;
    this.#gone = options.gone;
    this.#reaper = new OrphanReaper(this.#docker, this.ownerId);
    this.#poolLimits = { ...DEFAULT_CONTAINER_LIMITS, ...options.poolLimits };
    const specs = Object.entries(options.pool ?? {}).map(([image, size]) => ({
      key: limitsClass(image, this.#poolLimits),
      size: size ?? 0,
      create: () => this.#create(image, this.#poolLimits, "pooled", { [LABEL_POOLED]: "1" }),
    }));
    this.#pool = new WarmPool(specs, (c) => this.#discard(c));
  }

  async start(): Promise<void> {
    if (this.#disposed) throw new Error("DockerRunner.start() after dispose()");
    if (this.#startedOnce) return;
    this.#startedOnce = true;
    if (this.#janitor) await sweepOrphans(this.#docker, this.ownerId).catch(() => undefined);
    this.#pool.start();
  }

  /** Resolves once the warm pool is full (bounded by timeoutMs); for benchmarks and tests. */
  async poolReady(timeoutMs = 30_000): Promise<void> {
    await this.#pool.whenFull(timeoutMs);
  }

  async run(job: ContainerJob): Promise<ContainerOutcome> {
    if (this.#disposed) throw new Error("DockerRunner.run() after dispose()");
    validateJob(job);
    const t0 = performance.now();
    const executionId = job.labels?.[LABEL_EXECUTION] ?? `ex_${randomBytes(8).toString("hex")}`;
    const key = limitsClass(job.image, job.limits);
    let ready = this.#pool.take(key);
    const pooled = ready !== undefined;
    if (ready === undefined) {
      try {
        ready = await this.#create(job.image, job.limits, executionId, job.labels ?? {});
      } catch (err) {
        return failedBeforeStart(engineFailure(err, job.image), performance.now() - t0);
      }
    } else if (job.labels?.[LABEL_EXECUTION] !== undefined) {
      // pooled containers were labelled before the job existed; the name carries the execution
      this.#track(ready.container.rename({ name: `mend-${executionId}-${ready.id.slice(0, 6)}` }));
    }
    const outMaxBytes = job.limits.diskMb * 1024 * 1024;
    let obs: JobObservation;
    let adopted = false;
    try {
      obs = await runJob(ready, job, outMaxBytes);
      if (this.#outageMs > 0 && lostToEngine(obs)) {
        const opts = { outageMs: this.#outageMs, startedAt: t0 };
        adopted = await adoptAfterOutage(ready.container, job, obs, opts);
      }
    } finally {
      this.#discard(ready);
    }
    const wallMs = performance.now() - t0;
    const L = obs.launcher;
    const memoryPeakMb =
      L?.memoryPeakBytes === undefined ? obs.memoryPeakMbAtTimeout : round1(L.memoryPeakBytes / 1048576);
    const failure = classify({
      limits: job.limits,
      wallMs,
      ...(L === undefined ? {} : { launcher: L }),
      ...(obs.inspect === undefined ? {} : { inspect: obs.inspect }),
      timedOut: obs.timedOut,
      aborted: obs.aborted,
      outputExceeded: obs.outputExceeded,
      ...(obs.pidsAtTimeout === undefined ? {} : { pidsAtTimeout: obs.pidsAtTimeout }),
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
        ...(L?.cpuNs === undefined ? {} : { cpuMs: round1(L.cpuNs / 1e6) }),
        ...(this.#engine === undefined ? {} : { engine: this.#engine }),
        ...(adopted ? { adopted } : {}),
      },
      pooled,
    };
    return failure === undefined ? { ...base, status: "succeeded" } : { ...base, status: "failed", failure };
  }

  /** Idle warm containers that could serve this job (for placement). */
  warm(job: Pick<ContainerJob, "image" | "limits">): number {
    return this.#pool.idleCount(limitsClass(job.image, job.limits));
  }

  /** Containers this runner holds on the engine (running jobs and idle pool). */
  get containers(): number {
    return this.#live.size;
  }

  /**
   * Removes every container of this runner it no longer uses (left by an engine outage); call it
   * when the engine answers again. Returns how many were removed.
   */
  async reconcile(): Promise<number> {
    const live = new Set([...this.#live].map((c) => c.id));
    return this.#reaper.reconcile((id, name) => live.has(id) || this.#creating.has(name));
  }

  async engineInfo(): Promise<{ available: boolean; version?: string }> {
    try {
      const v = await this.#docker.version();
      return { available: true, version: v.Version };
    } catch {
      return { available: false };
    }
  }

  async images(): Promise<string[]> {
    try {
      const list = await this.#docker.listImages({ filters: { reference: ["mend-runtime-*:latest"] } });
      const names = list.flatMap((i) => i.RepoTags ?? []).map((t) => runtimeName(t));
      return [...new Set(names)].sort();
    } catch {
      return [];
    }
  }

  async dispose(): Promise<void> {
    if (this.#disposed) {
      await Promise.allSettled([...this.#pending]);
      return;
    }
    this.#disposed = true;
    await this.#pool.dispose();
    for (const c of this.#live) this.#discard(c);
    await Promise.allSettled([...this.#pending]);
    await this.#reaper.settled();
    await removeOwned(this.#docker, this.ownerId).catch(() => 0);
  }

  async #create(
    image: string,
    limits: ContainerLimits,
    executionId: string,
    extra: Record<string, string>,
  ): Promise<ReadyContainer> {
    const name = `mend-${executionId.replace(/[^\w.-]/g, "_").slice(0, 64)}-${randomBytes(3).toString("hex")}`;
    const hardened = hardenedSpec({
      image,
      limits,
      name,
      labels: ownerLabels(this.ownerId, executionId, { ...extra, "mend.runtime": runtimeName(image) }),
    });
    const spec = this.#outageMs > 0 ? withKeptLogs(hardened, limits) : hardened;
    this.#creating.add(name);
    try {
      const ready = await startContainer(this.#docker, spec, this.#gone);
      this.#live.add(ready);
      return ready;
    } finally {
      this.#creating.delete(name);
    }
  }

  /** Removes a container in the background; dispose() waits for these. */
  #discard(c: ReadyContainer): void {
    if (!this.#live.delete(c)) return;
    c.close();
    this.#reaper.remove(c.container);
  }

  #track(p: Promise<unknown>): void {
    const q = p.catch(() => undefined).finally(() => this.#pending.delete(q));
    this.#pending.add(q);
  }
}

function defaultSocketPath(): string {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith("unix://")) return host.slice("unix://".length);
  return "/var/run/docker.sock";
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function failedBeforeStart(failure: Failure, wallMs: number): ContainerOutcome {
  return {
    status: "failed",
    failure: { ...failure, usage: { wallMs: round1(wallMs) } },
    stdout: "",
    stderr: "",
    stdoutTruncated: false,
    stderrTruncated: false,
    exitCode: null,
    files: [],
    usage: { wallMs: round1(wallMs) },
    pooled: false,
  };
}

/** Host misuse (not guest behaviour) throws: bad limits, unsafe file paths, non-string code. */
function validateJob(job: ContainerJob): void {
  if (typeof job.code !== "string") throw new TypeError("job.code must be a string");
  if (typeof job.image !== "string" || job.image.length === 0)
    throw new TypeError("job.image must be a non-empty string");
  const l = job.limits;
  for (const k of ["memoryMb", "cpus", "timeoutMs", "diskMb", "pids", "outputBytes"] as const) {
    if (!Number.isFinite(l[k]) || l[k] <= 0)
      throw new RangeError(`job.limits.${k} must be a positive number`);
  }
  if (l.memoryMb < 6) throw new RangeError("job.limits.memoryMb must be at least 6 (Docker's minimum)");
  if (l.network !== "none") throw new RangeError("job.limits.network: only 'none' is supported");
  let total = 0;
  for (const f of job.files ?? []) {
    const parts = f.path.split("/");
    if (f.path.length === 0 || f.path.startsWith("/") || parts.includes("..") || f.path.includes("\0")) {
      throw new TypeError(`job.files: unsafe path ${JSON.stringify(f.path)}`);
    }
    total += f.content.length;
  }
  if (total > l.diskMb * 1024 * 1024) throw new RangeError(`job.files: ${total} bytes exceed limits.diskMb`);
}
