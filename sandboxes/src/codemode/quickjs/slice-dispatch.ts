// Starts and ends one QuickJS slice on a worker slot: the message posted, the deadlines the watchdog checks.
import { enterSlot } from "./guest-placement.ts";
import type { GuestTask } from "./guest-task.ts";
import type { WorkerSlot } from "./worker-slot.ts";

/** A slice waiting in the scheduler's queue: a guest's first (start) or one after its tool calls settled. */
export interface SliceRequest {
  task: GuestTask;
  kind: "start" | "resume";
}

/**
 * Runs `request` on `slot` (free, and fitting the guest for a start): the guest's budget runs from now, the
 * worker is killed past it and the grace, other tenants' guests move off it past `migrateAfterMs`.
 *
 * @example startSlice(slot, { task, kind: "start" }, options.killGraceMs, options.migrateAfterMs);
 */
export function startSlice(
  slot: WorkerSlot<GuestTask>,
  request: SliceRequest,
  killGraceMs: number,
  migrateAfterMs: number,
): void {
  const task = request.task;
  slot.running = task;
  task.state = "running";
  task.startCounting();
  const budgetMs = Math.max(1, Math.floor(task.remainingMs()));
  if (request.kind === "start") {
    task.slot = slot;
    enterSlot(slot, task);
    slot.post(task.startMessage(budgetMs));
  } else {
    slot.post({ type: "settle", id: task.id, calls: task.pending.splice(0), budgetMs });
  }
  const now = performance.now();
  slot.killAt = now + budgetMs + killGraceMs;
  slot.migrateAt = now + migrateAfterMs;
}

/**
 * `slot` runs nothing any more: a pending cancellation is withdrawn and nothing is left to kill.
 *
 * @example clearSlice(slot); task.stopCounting();
 */
export function clearSlice(slot: WorkerSlot<GuestTask>): void {
  slot.abort(0);
  slot.running = undefined;
  slot.killAt = Number.POSITIVE_INFINITY;
}
