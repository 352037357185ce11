// CPU time of a process from /proc/<pid>/stat (Linux), to say what one unit of work costs the service.
import { readFileSync } from "node:fs";

/**
 * User + system CPU time of `pid` so far, in ms; undefined if unreadable.
 * @example const a = procCpuMs(pid); ...; const spentMs = procCpuMs(pid)! - a!
 */
export function procCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15 (1-based).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks * 10 : undefined; // USER_HZ is 100 on Linux
}
