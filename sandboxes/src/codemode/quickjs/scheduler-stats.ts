// The QuickJS scheduler's counters next to each tenant's load, counted from its workers and its queue.
import type { SandboxLoad, TenantLoad } from "../../fair-share/sandbox-load.ts";
import type { GuestTask } from "./guest-task.ts";
import type { WorkerSlot } from "./worker-slot.ts";

const MiB = 1024 * 1024;

/** The scheduler's counters, next to the per-tenant load. */
export interface SchedulerStats extends SandboxLoad {
  workers: number;
  burstWorkers: number;
  /** Guests living in workers (running, parked or waiting for their next slice). */
  guests: number;
  /** Workers replaced after a crash, a kill or a recycle. */
  replaced: number;
  /** Guests that started over on another worker after theirs was lost. */
  reruns: number;
  /** Guests moved off a worker busy with another tenant's long slice. */
  migrations: number;
  /** Sum of the workers' wasm memory, in MiB. */
  wasmMb: number;
}

/** What the scheduler counted since it started. */
export interface SchedulerCounters {
  replaced: number;
  reruns: number;
  migrations: number;
}

/**
 * Load per tenant (running and parked from the workers' residents, queued from the queue's depth) plus the
 * scheduler's counters.
 *
 * @example const stats = schedulerStats(slots, queue.depth(), { replaced: 0, reruns: 0, migrations: 0 });
 */
export function schedulerStats(
  slots: readonly WorkerSlot<GuestTask>[],
  queueDepth: Map<string, number>,
  counters: SchedulerCounters,
): SchedulerStats {
  const tenants: Record<string, TenantLoad> = {};
  const of = (tenant: string): TenantLoad => (tenants[tenant] ??= { running: 0, parked: 0, queued: 0 });
  let guests = 0;
  let wasmBytes = 0;
  for (const slot of slots) {
    wasmBytes += slot.wasmBytes;
    for (const task of slot.residents.values()) {
      guests += 1;
      if (task.state === "running") of(task.tenant).running += 1;
      else if (task.state === "parked") of(task.tenant).parked += 1;
    }
  }
  for (const [tenant, queued] of queueDepth) of(tenant).queued += queued;
  const sum = (key: keyof TenantLoad) => Object.values(tenants).reduce((n, t) => n + t[key], 0);
  return {
    running: sum("running"),
    parked: sum("parked"),
    queued: sum("queued"),
    tenants,
    workers: slots.filter((s) => !s.burst).length,
    burstWorkers: slots.filter((s) => s.burst).length,
    guests,
    replaced: counters.replaced,
    reruns: counters.reruns,
    migrations: counters.migrations,
    wasmMb: Math.round((wasmBytes / MiB) * 10) / 10,
  };
}
