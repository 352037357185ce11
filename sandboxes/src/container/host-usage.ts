// Usage of one container as the host sees it (the engine's cgroup stats and state), never as the
// code inside reports it: figures user code cannot print, forge or hide.
import type { Container } from "dockerode";
import { readFileSync } from "node:fs";
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
 * Reads peak memory, CPU time and OOM kills of a container: from the host's cgroup files when the
 * engine runs on this machine (cgroupfs driver, v1 or v2; well under a millisecond), else from the
 * engine (one-shot stats and inspect). Bounded by `timeoutMs`; a figure not given in time is left out.
 * @example const usage = await readHostUsage(container); usage.memoryPeakBytes // 9437184
 */
export async function readHostUsage(container: Container, timeoutMs = 5000): Promise<HostUsage> {
  const local = await readLocalCgroup(container.id).catch(() => undefined);
  if (local !== undefined) return local;
  return readFromEngine(container, timeoutMs);
}

const CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * A cgroup file's text, read synchronously: kernel pseudo-files answer in microseconds, while each async
 * read is four thread-pool hops that a busy service's event loop (a burst's other jobs) delays by
 * milliseconds each, on the path of every job's answer.
 */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

async function readNumber(path: string): Promise<number | undefined> {
  const text = readText(path);
  const n = text === undefined ? NaN : Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}

async function readKey(path: string, key: string): Promise<number | undefined> {
  const text = readText(path);
  const line = text?.split("\n").find((l) => l.startsWith(`${key} `));
  const n = line === undefined ? NaN : Number(line.slice(key.length + 1));
  return Number.isFinite(n) ? n : undefined;
}

/** The container's cgroup as Docker's cgroupfs driver lays it out; undefined when it is not here. */
async function readLocalCgroup(id: string): Promise<HostUsage | undefined> {
  if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
  const v1 = `${CGROUP_ROOT}/memory/docker/${id}`;
  const peakV1 = await readNumber(`${v1}/memory.max_usage_in_bytes`);
  if (peakV1 !== undefined) {
    const cpu = await readNumber(`${CGROUP_ROOT}/cpuacct/docker/${id}/cpuacct.usage`);
    const kills = await readKey(`${v1}/memory.oom_control`, "oom_kill");
    return usageOf(peakV1, cpu, kills);
  }
  const v2 = `${CGROUP_ROOT}/docker/${id}`;
  const peakV2 = await readNumber(`${v2}/memory.peak`);
  if (peakV2 === undefined) return undefined;
  const usec = await readKey(`${v2}/cpu.stat`, "usage_usec");
  const kills = await readKey(`${v2}/memory.events`, "oom_kill");
  return usageOf(peakV2, usec === undefined ? undefined : usec * 1000, kills);
}

function usageOf(peak: number, cpuNs: number | undefined, kills: number | undefined): HostUsage {
  return {
    ...(peak > 0 ? { memoryPeakBytes: peak } : {}),
    ...(cpuNs !== undefined && cpuNs > 0 ? { cpuNs } : {}),
    ...(kills === undefined ? {} : { oomKilled: kills > 0 }),
  };
}

async function readFromEngine(container: Container, timeoutMs: number): Promise<HostUsage> {
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

/**
 * The memory a container holds now as `docker stats` counts it (usage less inactive page cache): from the
 * host's cgroup files when the engine runs here, else one-shot engine stats (bounded by `timeoutMs`).
 * Undefined when neither answers. For the warm pool's memory cost.
 * @example const bytes = await readMemoryNow(container); // 11534336
 */
export async function readMemoryNow(container: Container, timeoutMs = 2000): Promise<number | undefined> {
  const local = await readLocalMemory(container.id).catch(() => undefined);
  if (local !== undefined) return local;
  const stats = await Promise.race([
    container
      .stats({ stream: false, "one-shot": true })
      .then((s) => s as unknown as MemoryStatsBody)
      .catch(() => undefined),
    delay(timeoutMs, undefined, { ref: false }),
  ]);
  const m = stats?.memory_stats;
  if (typeof m?.usage !== "number" || m.usage <= 0) return undefined;
  const cache = m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? 0;
  return Math.max(0, m.usage - cache);
}

interface MemoryStatsBody {
  memory_stats?: { usage?: number; stats?: { total_inactive_file?: number; inactive_file?: number } };
}

async function readLocalMemory(id: string): Promise<number | undefined> {
  if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
  const v1 = `${CGROUP_ROOT}/memory/docker/${id}`;
  const usageV1 = await readNumber(`${v1}/memory.usage_in_bytes`);
  if (usageV1 !== undefined) {
    const inactive = (await readKey(`${v1}/memory.stat`, "total_inactive_file")) ?? 0;
    return Math.max(0, usageV1 - inactive);
  }
  const v2 = `${CGROUP_ROOT}/docker/${id}`;
  const usageV2 = await readNumber(`${v2}/memory.current`);
  if (usageV2 === undefined) return undefined;
  const inactive = (await readKey(`${v2}/memory.stat`, "inactive_file")) ?? 0;
  return Math.max(0, usageV2 - inactive);
}
