// The lease side of hosted-run ownership: how often undriven runs are looked for, and which holders are dead.
import { hostname } from "node:os";

/**
 * How often a process looks for hosted runs nobody drives (a dead replica's lapsed lease, a released one):
 * with the replica TTL it bounds the takeover time (TTL + sweep).
 */
export const SWEEP_MS = 500;
/** Runs one sweep starts at most (the rest wait for the next sweep, or for another replica's). */
export const SWEEP_BATCH = 200;

/**
 * A lease owner id names its host and process, so a restarted service can tell a dead holder at once.
 * @example ownerDead(`${hostname()}/4242`) // true when no process 4242 runs on this host
 */
export function ownerDead(owner: string | null): boolean {
  const [host, pid] = owner?.split("/") ?? [];
  if (!owner || host !== hostname() || !pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}
