// The QuickJS scheduler's list of worker slots: which are free or idle, dropping one, the restart back-off.
import type { GuestTask } from "./guest-task.ts";
import type { WorkerSlot } from "./worker-slot.ts";

/**
 * The slots that can run a slice now: started, not broken, running nothing.
 *
 * @example const free = freeSlots(slots); if (free.length === 0) return;
 */
export function freeSlots(slots: readonly WorkerSlot<GuestTask>[]): WorkerSlot<GuestTask>[] {
  return slots.filter((s) => s.isReady && !s.isBroken && s.running === undefined);
}

/**
 * Whether `slot` holds no guest and runs nothing (a broken slot is never idle: it is replaced, not retired).
 *
 * @example if (isIdle(slot)) retire(slot);
 */
export function isIdle(slot: WorkerSlot<GuestTask>): boolean {
  return slot.residents.size === 0 && slot.running === undefined && !slot.isBroken;
}

/**
 * Takes `slot` out of `slots` (nothing when it is not there).
 *
 * @example removeSlot(slots, slot); void slot.close().catch(() => {});
 */
export function removeSlot(slots: WorkerSlot<GuestTask>[], slot: WorkerSlot<GuestTask>): void {
  const index = slots.indexOf(slot);
  if (index >= 0) slots.splice(index, 1);
}

/**
 * How long to wait before starting a warm worker again after `startFailures` workers in a row failed to
 * start, in ms (0: at once).
 *
 * @example const delay = respawnDelayMs(3); // → 400
 */
export function respawnDelayMs(startFailures: number): number {
  return startFailures === 0 ? 0 : Math.min(2000, 50 * 2 ** startFailures);
}
