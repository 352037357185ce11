// The ContainerRunner on a real Docker engine: one hardened container per execution, warm pool, janitor.
import Docker from "dockerode";
import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { engineFailure } from "./classify.ts";
import { runJob, startContainer, type JobObservation, type ReadyContainer } from "./container-session.ts";
import { hardenedSpec, limitsClass, runtimeName } from "./host-config.ts";
import { LABEL_EXECUTION, LABEL_POOLED, ownerLabels } from "./labels.ts";
import { removeOwned, sweepOrphans } from "./janitor.ts";
import { adoptAfterOutage, lostToEngine, withKeptLogs } from "./engine-outage.ts";
import { OrphanReaper } from "./orphan-reaper.ts";
import type { ContainerRuntime } from "./seccomp-profile.ts";
import { validateJob } from "./validate-job.ts";
import { WarmPool } from "./pool.ts";
import { BurstHold } from "./burst-hold.ts";
import { readMemoryNow } from "./host-usage.ts";
import { openEgress, type EgressCheckFactory, type EgressSession } from "../egress/egress-session.ts";
import { sweepEgress } from "../egress/egress-janitor.ts";
import type {
  ContainerJob,
  ContainerLimits,
  ContainerOutcome,
  ContainerRunner,
  PoolState,
} from "./runner.ts";
import { defaultSocketPath, type DockerRunnerOptions } from "./docker-runner-options.ts";
import { egressUnavailable, failedBeforeStart, jobOutcome } from "./job-outcome.ts";

export type { DockerRunnerOptions } from "./docker-runner-options.ts";

/** How long after its stream closed a used container is removed, ms (see #removal). */
const REMOVAL_DELAY_MS = 150;
/** The longest a used container's removal, or a refill, waits for the jobs in flight to drain, ms. */
const BURST_HOLD_MS = 500;

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
  readonly #egressCheck: EgressCheckFactory | undefined;
  readonly #engine: string | undefined;
  readonly #outageMs: number;
  readonly #gone: ((id: string) => Promise<void>) | undefined;
  readonly #reaper: OrphanReaper;
  /** Names of containers being created (not yet live): reconcile() leaves them alone. */
  readonly #creating = new Set<string>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #live = new Set<ReadyContainer>();
  /** This engine's jobs in flight: refills and removals wait for a burst to drain. */
  readonly #hold = new BurstHold();
  readonly #holdMs: number;
  #disposed = false;
  #startedOnce = false;

  constructor(options: DockerRunnerOptions = {}) {
    this.ownerId = options.ownerId ?? `runner_${randomBytes(6).toString("hex")}`;
    this.#docker = options.docker ?? new Docker({ socketPath: options.socketPath ?? defaultSocketPath() });
    this.#janitor = options.janitor ?? true;
    this.#egressCheck = options.egressCheck;
    this.#engine = options.engine;
    this.#outageMs = options.outageMs ?? 0;
    this.#gone = options.gone;
    this.#reaper = new OrphanReaper(this.#docker, this.ownerId);
    this.#poolLimits = { ...DEFAULT_CONTAINER_LIMITS, ...options.poolLimits };
    this.#holdMs = Math.max(0, options.burstHoldMs ?? BURST_HOLD_MS);
    const pools: [ContainerRuntime, Partial<Record<string, number>> | undefined][] = [
      ["runc", options.pool],
      ["runsc", options.runscPool],
    ];
    const specs = pools.flatMap(([runtime, sizes]) =>
      Object.entries(sizes ?? {}).map(([image, size]) => ({
        key: limitsClass(image, this.#poolLimits, runtime),
        size: size ?? 0,
        max: Math.max(size ?? 0, options.poolMax ?? 0),
        create: () => this.#create(image, this.#poolLimits, "pooled", { [LABEL_POOLED]: "1" }, runtime),
      })),
    );
    this.#pool = new WarmPool(specs, (c) => this.#discard(c), {
      ...(options.poolIdleMs === undefined ? {} : { idleMs: options.poolIdleMs }),
      ...(options.poolMemoryMb === undefined ? {} : { memoryBudgetBytes: options.poolMemoryMb * 1048576 }),
      ...(options.poolRefills === undefined ? {} : { refills: options.poolRefills }),
      measure: (c) => readMemoryNow(c.container),
      hold: this.#hold,
      holdMaxMs: this.#holdMs,
    });
  }

  async start(): Promise<void> {
    if (this.#disposed) throw new Error("DockerRunner.start() after dispose()");
    if (this.#startedOnce) return;
    this.#startedOnce = true;
    if (this.#janitor) {
      await sweepOrphans(this.#docker, this.ownerId).catch(() => undefined);
      await sweepEgress(this.#docker, this.ownerId).catch(() => undefined);
    }
    this.#pool.start();
  }

  /** Idle warm containers per image. */
  poolIdle(): Record<string, number> {
    return this.#pool.idleByImage();
  }

  /** Every pooled image's size, target, demand, hits, misses and memory on this engine. */
  poolStats(): PoolState[] {
    return this.#pool.stats().map((k) => ({
      ...k,
      image: k.key.split("|")[0]!,
      runtime: k.key.endsWith("|runsc") ? "runsc" : "runc",
      ...(this.#engine === undefined ? {} : { engine: this.#engine }),
    }));
  }

  /** Resolves once the warm pool is full (bounded by timeoutMs); for benchmarks and tests. */
  async poolReady(timeoutMs = 30_000): Promise<void> {
    await this.#pool.whenFull(timeoutMs);
  }

  async run(job: ContainerJob): Promise<ContainerOutcome> {
    if (this.#disposed) throw new Error("DockerRunner.run() after dispose()");
    validateJob(job);
    const end = this.#hold.begin();
    try {
      return await this.#run(job);
    } finally {
      end();
    }
  }

  async #run(job: ContainerJob): Promise<ContainerOutcome> {
    const t0 = performance.now();
    const executionId = job.labels?.[LABEL_EXECUTION] ?? `ex_${randomBytes(8).toString("hex")}`;
    const runtime = job.runtime ?? "runc";
    const key = limitsClass(job.image, job.limits, runtime);
    const net = job.limits.network;
    let egress: EgressSession | undefined;
    if (net !== "none") {
      try {
        egress = await openEgress(
          this.#docker,
          ownerLabels(this.ownerId, executionId),
          net.hosts,
          this.#egressCheck,
          runtime,
        );
      } catch (err) {
        return failedBeforeStart(egressUnavailable(err), performance.now() - t0, runtime);
      }
    }
    // allowlist jobs never come from the pool: their network is made for them
    const fromPool = egress === undefined && this.#pool.has(key);
    try {
      return await this.#runOn(
        job,
        fromPool ? this.#pool.take(key) : undefined,
        executionId,
        runtime,
        egress,
        t0,
      );
    } finally {
      if (fromPool) this.#pool.release(key);
    }
  }

  async #runOn(
    job: ContainerJob,
    taken: ReadyContainer | undefined,
    executionId: string,
    runtime: ContainerRuntime,
    egress: EgressSession | undefined,
    t0: number,
  ): Promise<ContainerOutcome> {
    let ready = taken;
    const pooled = ready !== undefined;
    if (ready === undefined) {
      try {
        ready = await this.#create(job.image, job.limits, executionId, job.labels ?? {}, runtime, egress);
      } catch (err) {
        if (egress !== undefined) this.#track(egress.dispose());
        return failedBeforeStart(engineFailure(err, job.image, runtime), performance.now() - t0, runtime);
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
      const removed = this.#removal(ready, REMOVAL_DELAY_MS);
      this.#track(egress === undefined ? removed : removed.then(() => egress.dispose()));
    }
    const journal = await egress?.close();
    const wallMs = performance.now() - t0;
    return jobOutcome(obs, {
      job,
      runtime,
      wallMs,
      outMaxBytes,
      pooled,
      adopted,
      engine: this.#engine,
      journal,
    });
  }

  /** Idle warm containers that could serve this job (for placement). */
  warm(job: Pick<ContainerJob, "image" | "limits" | "runtime">): number {
    return this.#pool.idleCount(limitsClass(job.image, job.limits, job.runtime));
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
    this.#hold.release();
    await this.#pool.dispose();
    for (const c of this.#live) this.#discard(c);
    await Promise.allSettled([...this.#pending]);
    await this.#reaper.settled();
    await removeOwned(this.#docker, this.ownerId).catch(() => 0);
    await sweepEgress(this.#docker, this.ownerId, this.ownerId).catch(() => 0);
  }

  async #create(
    image: string,
    limits: ContainerLimits,
    executionId: string,
    extra: Record<string, string>,
    runtime: ContainerRuntime,
    egress?: EgressSession,
  ): Promise<ReadyContainer> {
    const name = `mend-${executionId.replace(/[^\w.-]/g, "_").slice(0, 64)}-${randomBytes(3).toString("hex")}`;
    const hardened = hardenedSpec({
      image,
      limits,
      ...(egress === undefined ? {} : { egress: egress.attachment }),
      runtime,
      name,
      labels: ownerLabels(this.ownerId, executionId, {
        ...extra,
        "mend.runtime": runtimeName(image),
        "mend.oci-runtime": runtime,
      }),
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
    this.#track(this.#removal(c));
  }

  /**
   * The removal of a container (for egress jobs, whose network can go only after it). With `delayMs`, a
   * used container: its launcher holds it open until its stream closes, and the close (the container's
   * exit) and the removal wait until the engine's jobs in flight have drained (burstHoldMs at most), so
   * the burst's other jobs do not share the engine with the exit and the teardown.
   */
  #removal(c: ReadyContainer, delayMs = 0): Promise<unknown> {
    if (!this.#live.delete(c)) return Promise.resolve();
    if (delayMs === 0 || this.#disposed) {
      c.close();
      return this.#reaper.remove(c.container);
    }
    // ref'd timers: dispose() waits for this removal, and nothing else may keep the process alive
    return this.#hold
      .quiet(this.#holdMs)
      .then(() => {
        c.release();
        // the launcher exits once released: a moment later the engine removes an exited container
        // instead of killing a running one
        return this.#disposed ? undefined : delay(delayMs);
      })
      .then(() => {
        c.close();
        return this.#reaper.remove(c.container);
      });
  }

  #track(p: Promise<unknown>): void {
    const q = p.catch(() => undefined).finally(() => this.#pending.delete(q));
    this.#pending.add(q);
  }
}
