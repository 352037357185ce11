// Several Docker engines behind one ContainerRunner: placement by free memory, a warm hit first, engines that stop answering left out.
import Docker from "dockerode";
import { randomBytes } from "node:crypto";
import { DEFAULT_CONTAINER_LIMITS, DockerRunner, type DockerRunnerOptions } from "./docker-runner.ts";
import { dockerOptionsFor } from "./engine-hosts.ts";
import { EngineWatch } from "./engine-watch.ts";
import type { ContainerJob, ContainerOutcome, ContainerRunner, EngineState, PoolState } from "./runner.ts";

/** One engine: a name and either a ready client or an address (see dockerOptionsFor). */
export interface EngineSpec {
  name: string;
  url?: string;
  docker?: Docker;
}

/** The warm pool's options, given to the runner of each engine as they are. */
type EnginePoolOptions = Pick<
  DockerRunnerOptions,
  "pool" | "runscPool" | "poolLimits" | "poolMax" | "poolIdleMs" | "poolMemoryMb"
>;

export interface MultiEngineRunnerOptions extends EnginePoolOptions {
  engines: EngineSpec[];
  /** TLS client certificates of `tcp://` engines (ca.pem, cert.pem, key.pem). */
  certPath?: string;
  ownerId?: string;
  janitor?: boolean;
  /**
   * How long a job waits for its engine to answer again (then adopts a finished container's result).
   * Default: 10 s with one engine; 0 with several (the job is lost at once and retried elsewhere).
   */
  outageMs?: number;
  /** Ping interval of the engine watch while a job runs there or it is down, ms (default 500). */
  pingMs?: number;
  /** Ping interval of the engine watch otherwise, ms (default 5000). */
  idlePingMs?: number;
}

interface Engine {
  name: string;
  runner: DockerRunner;
  watch: EngineWatch;
  /** Memory of the jobs placed here and running, MiB. */
  runningMb: number;
  running: number;
}

/** Failure kinds that may mean the engine itself went away (its state is checked before answering). */
const ENGINE_KINDS = new Set(["container_lost", "sandbox_unavailable"]);

/**
 * Runs each job on one of several engines, each with its own DockerRunner (warm pool, janitor) and
 * EngineWatch. Placement: engines that answer; among them one with a warm container for the job,
 * then the most free memory. A job lost with its engine comes back `container_lost` (or
 * `sandbox_unavailable` while it was being created) once the engine's state is known, so the
 * remediation's retry goes to another engine. An engine that answers again has its orphans removed.
 * @example
 * const runner = new MultiEngineRunner({ engines: [{ name: "a", url: "unix:///var/run/docker.sock" }] });
 * await runner.start();
 * (await runner.run({ image: "python", code: "print(1)", limits })).usage.engine; // "a"
 */
export class MultiEngineRunner implements ContainerRunner {
  readonly #engines: Engine[];
  readonly #poolMb: number;
  #next = 0;
  /** Settles after the first ping of every engine (what engineInfo and images report needs). */
  #pinged: Promise<void> | undefined;
  /** Settles once every runner started (janitor sweeps done, pools filling): jobs wait for it. */
  #started: Promise<void> | undefined;

  constructor(options: MultiEngineRunnerOptions) {
    if (options.engines.length === 0) throw new RangeError("MultiEngineRunner needs at least one engine");
    const names = new Set(options.engines.map((e) => e.name));
    if (names.size !== options.engines.length) throw new RangeError("engine names must be unique");
    const ownerId = options.ownerId ?? `runner_${randomBytes(6).toString("hex")}`;
    const outageMs = options.outageMs ?? (options.engines.length === 1 ? 10_000 : 0);
    const poolLimits = { ...DEFAULT_CONTAINER_LIMITS, ...options.poolLimits };
    const poolCount = Object.values(options.pool ?? {}).reduce<number>((n, v) => n + (v ?? 0), 0);
    this.#poolMb = poolCount * poolLimits.memoryMb;
    this.#engines = options.engines.map((spec) => {
      const docker = spec.docker ?? new Docker(dockerOptionsFor(spec.url ?? "", options.certPath));
      const ref: { runner?: DockerRunner } = {};
      const watch = new EngineWatch(docker, {
        ...(options.pingMs === undefined ? {} : { pingMs: options.pingMs }),
        ...(options.idlePingMs === undefined ? {} : { idlePingMs: options.idlePingMs }),
        // the engine answers again: remove what this runner left there while it could not
        onUp: async () => ref.runner?.reconcile(),
      });
      const runner = new DockerRunner({
        docker,
        ownerId,
        engine: spec.name,
        outageMs,
        gone: (id) => watch.gone(id),
        ...(options.pool === undefined ? {} : { pool: options.pool }),
        ...(options.runscPool === undefined ? {} : { runscPool: options.runscPool }),
        ...(options.poolLimits === undefined ? {} : { poolLimits: options.poolLimits }),
        ...(options.poolMax === undefined ? {} : { poolMax: options.poolMax }),
        ...(options.poolIdleMs === undefined ? {} : { poolIdleMs: options.poolIdleMs }),
        ...(options.poolMemoryMb === undefined ? {} : { poolMemoryMb: options.poolMemoryMb }),
        ...(options.janitor === undefined ? {} : { janitor: options.janitor }),
      });
      ref.runner = runner;
      return { name: spec.name, runner, watch, runningMb: 0, running: 0 };
    });
  }

  /** Engine names, in configuration order. */
  get names(): string[] {
    return this.#engines.map((e) => e.name);
  }

  /**
   * Pings the engines, sweeps what dead processes left (containers, egress networks and rules), starts the
   * pools. The service does not wait for it before listening: jobs, pool and image queries wait instead.
   */
  start(): Promise<void> {
    this.#pinged ??= Promise.all(this.#engines.map((e) => e.watch.start())).then(() => undefined);
    this.#started ??= (async () => {
      await this.#pinged;
      await Promise.all(this.#engines.map((e) => e.runner.start()));
    })();
    return this.#started;
  }

  /** Waits for start() to settle if it was called (its failure is the engines' state, seen by the caller). */
  async #after(phase: Promise<void> | undefined): Promise<void> {
    await phase?.catch(() => undefined);
  }

  /** Resolves once the warm pools of the engines that answer are full (bounded). */
  async poolReady(timeoutMs = 30_000): Promise<void> {
    await this.#after(this.#started);
    await Promise.all(
      this.#engines.filter((e) => e.watch.state === "up").map((e) => e.runner.poolReady(timeoutMs)),
    );
  }

  /** Idle warm containers per image, summed over the engines. */
  poolIdle(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.#engines)
      for (const [image, n] of Object.entries(e.runner.poolIdle())) out[image] = (out[image] ?? 0) + n;
    return out;
  }

  /** Every engine's pooled images: size, target, demand, hits, misses, memory. */
  poolStats(): PoolState[] {
    return this.#engines.flatMap((e) => e.runner.poolStats());
  }

  async run(job: ContainerJob): Promise<ContainerOutcome> {
    await this.#after(this.#started);
    const engine = this.#place(job);
    engine.running += 1;
    engine.runningMb += job.limits.memoryMb;
    const done = engine.watch.busy(); // a lost engine is known within a fast ping meanwhile
    try {
      const outcome = await engine.runner.run(job);
      // the retry must not come back here if the engine is gone: know its state before answering
      if (outcome.status === "failed" && ENGINE_KINDS.has(outcome.failure.kind)) await engine.watch.check();
      return outcome;
    } finally {
      done();
      engine.running -= 1;
      engine.runningMb -= job.limits.memoryMb;
    }
  }

  async engineInfo(): Promise<{ available: boolean; version?: string }> {
    await this.#after(this.#pinged);
    // no engine known to answer: ask them now rather than report the last ping
    if (this.#engines.every((e) => e.watch.state === "down"))
      await Promise.all(this.#engines.map((e) => e.watch.check()));
    const up = this.#engines.find((e) => e.watch.state === "up");
    if (up === undefined) return { available: false };
    return { available: true, ...(up.watch.version === undefined ? {} : { version: up.watch.version }) };
  }

  /** The runtime images every engine that answers has. */
  async images(): Promise<string[]> {
    await this.#after(this.#pinged);
    const up = this.#engines.filter((e) => e.watch.state === "up");
    if (up.length === 0) return [];
    const lists = await Promise.all(up.map((e) => e.runner.images()));
    return lists.reduce((acc, l) => acc.filter((n) => l.includes(n)));
  }

  engines(): EngineState[] {
    return this.#engines.map((e) => ({
      name: e.name,
      state: e.watch.state,
      ...(e.watch.version === undefined ? {} : { version: e.watch.version }),
      containers: e.runner.containers,
      ...(e.watch.memoryMb === undefined ? {} : { memoryMb: e.watch.memoryMb }),
      reservedMb: e.runningMb + this.#poolMb,
      ...(e.watch.state === "down" && e.watch.error !== undefined ? { error: e.watch.error } : {}),
    }));
  }

  async dispose(): Promise<void> {
    // A start still sweeping would start the pools after their dispose: let it finish first.
    await this.#after(this.#started);
    await Promise.allSettled(this.#engines.map((e) => e.watch.dispose()));
    await Promise.allSettled(this.#engines.map((e) => e.runner.dispose()));
  }

  /** Engines that answer, warm hit first, then most free memory, then fewest running, then in turn. */
  #place(job: ContainerJob): Engine {
    const up = this.#engines.filter((e) => e.watch.state === "up");
    const candidates = up.length > 0 ? up : this.#engines;
    const start = this.#next++ % candidates.length;
    const rotated = [...candidates.slice(start), ...candidates.slice(0, start)];
    const free = (e: Engine) => (e.watch.memoryMb ?? Number.MAX_SAFE_INTEGER) - e.runningMb - this.#poolMb;
    let best = rotated[0]!;
    for (const e of rotated.slice(1)) {
      const warmE = e.runner.warm(job) > 0;
      const warmB = best.runner.warm(job) > 0;
      if (warmE !== warmB) {
        if (warmE) best = e;
        continue;
      }
      // memory decides when it differs by more than one job's worth; otherwise spread by running jobs
      const diff = free(e) - free(best);
      if (Math.abs(diff) > job.limits.memoryMb) {
        if (diff > 0) best = e;
      } else if (e.running < best.running) best = e;
    }
    return best;
  }
}
