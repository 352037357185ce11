// The service's own account of its start-up (the "mend listening" log line's startupMs), as table rows.
import type { ServiceProcess } from "../support/service-process.ts";
import { percentile, round3, type Row } from "./stats.ts";

/** What server.ts logs: ms since the process started (modules), each phase; CPU of all threads and of the main one. */
export interface StartupPhases {
  modules: number;
  services: number;
  listen: number;
  total: number;
  cpu?: number;
  mainCpu?: number;
}

/**
 * The phases a started service logged, or undefined when its log has none.
 * @example const phases = startupPhases(await startService())
 */
export function startupPhases(svc: ServiceProcess): StartupPhases | undefined {
  for (const line of svc.logs) {
    try {
      const rec = JSON.parse(line) as { msg?: string; startupMs?: StartupPhases };
      if (rec.msg === "mend listening" && rec.startupMs) return rec.startupMs;
    } catch {
      /* not JSON */
    }
  }
  return undefined;
}

/**
 * One row: p50/p99 of the total (process start → listening, by the service's clock), the p50 of each
 * phase and of the CPU used until listening in the notes.
 * @example rows.push(phasesRow("Mend: restart phases", phases))
 */
export function phasesRow(name: string, phases: StartupPhases[], extra: Partial<Row> = {}): Row {
  const p50 = (k: keyof StartupPhases) => {
    const xs = phases.map((p) => p[k]).filter((x): x is number => typeof x === "number");
    return xs.length ? round3(percentile(xs, 0.5)) : "n/a";
  };
  const totals = phases.map((p) => p.total);
  return {
    name,
    n: phases.length,
    failures: 0,
    p50Ms: round3(percentile(totals, 0.5)),
    p99Ms: round3(percentile(totals, 0.99)),
    ...extra,
    notes: [
      `p50 of each phase: Node start + modules ${p50("modules")} ms, services ${p50("services")} ms, listen ${p50("listen")} ms; CPU until listening ${p50("cpu")} ms (all threads), ${p50("mainCpu")} ms (main thread)`,
      extra.notes,
    ]
      .filter(Boolean)
      .join("; "),
  };
}
