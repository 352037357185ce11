// Resident memory of a process from /proc (Linux): current RSS and its high-water mark, for the memory columns.
import { readFileSync } from "node:fs";

export interface ProcMemory {
  rssMb: number;
  /** VmHWM: the peak RSS since the process started. */
  peakRssMb: number;
}

/**
 * Reads VmRSS and VmHWM of `pid`; undefined if the process is gone or /proc is unavailable.
 * @example procMemory(svc.child.pid!) // { rssMb: 142.3, peakRssMb: 180.1 }
 */
export function procMemory(pid: number | undefined): ProcMemory | undefined {
  if (pid === undefined) return undefined;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  const mb = (x: number) => Math.round((x / 1024) * 10) / 10;
  return { rssMb: mb(kb("VmRSS")), peakRssMb: mb(kb("VmHWM")) };
}

/**
 * The memory fields of a row for a process: peak RSS (for targets) and a readable summary.
 * @example { ...memoryFields("service", svc.child.pid) } // { peakRssMb: 180.1, memory: "service RSS 142 MiB, peak 180 MiB" }
 */
export function memoryFields(
  label: string,
  pid: number | undefined,
): { peakRssMb?: number; memory?: string } {
  const m = procMemory(pid);
  if (!m) return { memory: `${label}: not readable` };
  return {
    peakRssMb: m.peakRssMb,
    memory: `${label} RSS ${Math.round(m.rssMb)} MiB, peak ${Math.round(m.peakRssMb)} MiB`,
  };
}
