// One pass of the QuickJS scheduler's watchdog over every time limit: stuck and long slices, parked guests.
import type { GuestTask } from "./guest-task.ts";
import type { WorkerSlot } from "./worker-slot.ts";

/** What the scheduler does about a limit a pass finds reached. */
export interface WatchActions {
  /** A slice outlived its budget and grace. */
  stuck(slot: WorkerSlot<GuestTask>, task: GuestTask): void;
  /** A slice ran past `migrateAfterMs` again. */
  migrateFrom(slot: WorkerSlot<GuestTask>): void;
  /** A parked guest's budget ran out (it is no longer in `parked`). */
  timedOut(task: GuestTask): void;
}

/**
 * The watchdog's interval, in ms: short enough for the tightest of its limits, never a busy loop.
 *
 * @example setInterval(tick, watchTickMs(options.migrateAfterMs, options.killGraceMs));
 */
export function watchTickMs(migrateAfterMs: number, killGraceMs: number): number {
  return Math.max(1, Math.min(20, migrateAfterMs, killGraceMs));
}

/**
 * Kills slices stuck past their budget and grace, migrates away from long ones, times out parked guests;
 * true while anything runs or is parked (the watchdog disarms itself after idle passes). `parked` loses
 * the guests no longer parked and those timed out.
 *
 * @example const busy = watchPass(slots, parked, options.migrateAfterMs, actions);
 */
export function watchPass(
  slots: readonly WorkerSlot<GuestTask>[],
  parked: Set<GuestTask>,
  migrateAfterMs: number,
  actions: WatchActions,
): boolean {
  const now = performance.now();
  let busy = false;
  for (const slot of [...slots]) {
    const task = slot.running;
    if (task === undefined || slot.isBroken) continue;
    busy = true;
    if (now >= slot.killAt) {
      actions.stuck(slot, task);
    } else if (now >= slot.migrateAt) {
      slot.migrateAt = now + migrateAfterMs;
      actions.migrateFrom(slot);
    }
  }
  for (const task of [...parked]) {
    if (task.state !== "parked") {
      parked.delete(task);
      continue;
    }
    busy = true;
    if (now < task.parkedUntil) continue;
    parked.delete(task);
    actions.timedOut(task);
  }
  return busy;
}
