// A ContainerRunner that loads and starts the real one on first need: a container job, an engine query,
// or start() (which the server calls once it listens).
//
// Why: the real runner is dockerode's module tree (ssh2, gRPC, protobufjs: ~100 ms to load) plus the
// engines' first ping, the sweep of what a dead process left (containers, egress rules) and the warm
// pools, none of which the first request after a restart needs. Jobs that come first wait for it.
import type {
  ContainerJob,
  ContainerOutcome,
  ContainerRunner,
  EngineState,
  PoolState,
} from "@mend/sandboxes";

/**
 * @example const runner = new LazyContainerRunner(async () => (await import("./engine-runner.ts")).engineRunner(config, policies));
 */
export class LazyContainerRunner implements ContainerRunner {
  readonly #load: () => Promise<ContainerRunner>;
  /** Settles once the real runner is loaded (rejects when it cannot be: container jobs then fail). */
  #loaded: Promise<ContainerRunner> | undefined;
  #started: Promise<void> | undefined;
  #runner: ContainerRunner | undefined;
  #disposed = false;

  constructor(load: () => Promise<ContainerRunner>) {
    this.#load = load;
  }

  #real(): Promise<ContainerRunner> {
    this.#loaded ??= this.#load().then((r) => (this.#runner = r));
    return this.#loaded;
  }

  /** Loads the real runner and starts it (ping, janitor, pools); rejects when it cannot be loaded. */
  start(): Promise<void> {
    this.#started ??= this.#real().then((r) => {
      if (this.#disposed) return;
      // Its own failures are the engines' state (container jobs fail with sandbox_unavailable).
      return r.start();
    });
    return this.#started;
  }

  /**
   * The real runner, its start() already called: start() runs first when the load settles (its reaction
   * is registered first), so the runner's own run/engineInfo/images wait for its ping or its sweep.
   */
  #startedRunner(): Promise<ContainerRunner> {
    void this.start().catch(() => undefined);
    return this.#real();
  }

  async run(job: ContainerJob): Promise<ContainerOutcome> {
    // as DockerRunner does: a job after dispose() must not load a runner nobody would stop
    if (this.#disposed) throw new Error("LazyContainerRunner.run() after dispose()");
    return (await this.#startedRunner()).run(job);
  }

  /** No engine when the runner cannot be loaded (health stays the store's; start() logged why). */
  async engineInfo(): Promise<{ available: boolean; version?: string }> {
    const r = await this.#startedRunner().catch(() => undefined);
    return r ? r.engineInfo() : { available: false };
  }

  async images(): Promise<string[]> {
    const r = await this.#startedRunner().catch(() => undefined);
    return r ? r.images() : [];
  }

  poolIdle(): Record<string, number> {
    return this.#runner?.poolIdle?.() ?? {};
  }

  poolStats(): PoolState[] {
    return this.#runner?.poolStats?.() ?? [];
  }

  engines(): EngineState[] {
    return this.#runner?.engines?.() ?? [];
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    // Nothing was loaded: nothing was created.
    if (this.#loaded === undefined) return;
    await this.#started?.catch(() => undefined);
    await (await this.#loaded.catch(() => undefined))?.dispose();
  }
}
