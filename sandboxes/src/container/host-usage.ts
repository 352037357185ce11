// Usage of one container as the host sees it (the engine's cgroup stats and state), never as the
// code inside reports it: figures user code cannot print, forge or hide.
import type { Container } from "dockerode";
import { setTimeout as delay } from "node:timers/promises";

/** What the engine knows of a container that is still there (its launcher waits to be read). */
export interface HostUsage {
  memoryPeakBytes?: number;
  cpuNs?: number;
  /** The engine saw an OOM kill in the container's cgroup (any process, not only PID 1). */
  oomKilled?: boolean;
}

interface StatsBody {
  memory_stats?: { max_usage?: number; usage?: number };
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
}

/**
 * Reads peak memory and CPU time (one-shot stats) and the OOM flag (inspect) of a container.
 * Bounded by `timeoutMs`; a figure the engine did not give in time is left out.
 * @example const usage = await readHostUsage(container); usage.memoryPeakBytes // 9437184
 */
export async function readHostUsage(container: Container, timeoutMs = 5000): Promise<HostUsage> {
  const stats = container
    .stats({ stream: false, "one-shot": true })
    .then((s) => s as unknown as StatsBody)
    .catch(() => undefined);
  const inspect = container
    .inspect()
    .then((i) => i.State.OOMKilled)
    .catch(() => undefined);
  const timeout = delay(timeoutMs, undefined, { ref: false });
  const [s, oom] = await Promise.all([Promise.race([stats, timeout]), Promise.race([inspect, timeout])]);
  const usage: HostUsage = {};
  // cgroup v1 keeps the peak; v2 engines only report the current usage
  const peak = s?.memory_stats?.max_usage ?? s?.memory_stats?.usage;
  if (typeof peak === "number" && peak > 0) usage.memoryPeakBytes = peak;
  const cpu = s?.cpu_stats?.cpu_usage?.total_usage;
  if (typeof cpu === "number" && cpu > 0) usage.cpuNs = cpu;
  if (typeof oom === "boolean") usage.oomKilled = oom;
  return usage;
}
