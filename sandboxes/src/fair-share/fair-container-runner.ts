// Container capacity shared fairly between tenants: a FairGate in front of any ContainerRunner.
import { availableParallelism } from "node:os";
import { makeFailure, type Failure } from "@mend/wire";
import type {
  ContainerJob,
  ContainerOutcome,
  ContainerRunner,
  EngineState,
  PoolState,
} from "../container/runner.ts";
import { FairGate } from "./fair-gate.ts";
import type { SandboxLoad } from "./sandbox-load.ts";

/** Options of FairContainerRunner. */
export interface FairContainerRunnerOptions {
  /** Containers running at once. Default: 2 × cores, at least 4. */
  slots?: number;
  /** Extra slots for a tenant running none while every slot is taken. Default: half of `slots`, at least 1. */
  burstSlots?: number;
}

/**
 * Wraps a ContainerRunner so that at most `slots` containers run at once, granted in weighted fair order
 * between tenants (`job.tenant`, `job.weight`): a tenant at its concurrency limit queues behind its own
 * work, and a tenant running nothing gets a burst slot at once. Time waiting for a slot is not the job's
 * time (its timeout starts with its container).
 *
 * @example const runner = new FairContainerRunner(new DockerRunner(), { slots: 4 }); await runner.run(job);
 */
export class FairContainerRunner implements ContainerRunner {
  readonly #inner: ContainerRunner;
  readonly #gate: FairGate;

  constructor(inner: ContainerRunner, options: FairContainerRunnerOptions = {}) {
    this.#inner = inner;
    const slots = options.slots ?? Math.max(4, 2 * availableParallelism());
    this.#gate = new FairGate({
      lanes: slots,
      burstLanes: options.burstSlots ?? Math.max(1, Math.floor(slots / 2)),
    });
  }

  /** The wrapped runner (for what only it offers, e.g. the warm pool's readiness). */
  get inner(): ContainerRunner {
    return this.#inner;
  }

  async run(job: ContainerJob): Promise<ContainerOutcome> {
    const t0 = performance.now();
    let lease;
    try {
      lease = await this.#gate.acquire(job.tenant ?? "", job.weight ?? 1, job.signal);
    } catch {
      return notStarted(
        makeFailure("interrupted", "The execution was cancelled while it waited for a container slot.", true),
        performance.now() - t0,
      );
    }
    try {
      return await this.#inner.run(job);
    } finally {
      lease.release();
    }
  }

  /** Containers running and jobs waiting for a slot, in total and per tenant. */
  load(): SandboxLoad {
    return this.#gate.load();
  }

  poolIdle(): Record<string, number> {
    return this.#inner.poolIdle?.() ?? {};
  }

  poolStats(): PoolState[] {
    return this.#inner.poolStats?.() ?? [];
  }

  engines(): EngineState[] {
    return this.#inner.engines?.() ?? [];
  }

  engineInfo(): Promise<{ available: boolean; version?: string }> {
    return this.#inner.engineInfo();
  }

  images(): Promise<string[]> {
    return this.#inner.images();
  }

  start(): Promise<void> {
    return this.#inner.start();
  }

  async dispose(): Promise<void> {
    this.#gate.close();
    await this.#inner.dispose();
  }
}

function notStarted(failure: Failure, wallMs: number): ContainerOutcome {
  return {
    status: "failed",
    failure,
    stdout: "",
    stderr: "",
    stdoutTruncated: false,
    stderrTruncated: false,
    exitCode: null,
    files: [],
    usage: { wallMs },
    pooled: false,
  };
}
