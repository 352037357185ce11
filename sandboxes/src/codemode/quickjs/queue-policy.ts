// What the QuickJS scheduler's queue may run now: slices free workers can take, when a burst worker is due.
import type { FairQueue } from "../../fair-share/fair-queue.ts";
import type { GuestTask } from "./guest-task.ts";
import type { ShareView } from "./share-view.ts";
import type { SliceRequest } from "./slice-dispatch.ts";
import type { WorkerSlot } from "./worker-slot.ts";

/** Whether `slot` can take `task` now (see fitsSlot). */
export type Fits = (slot: WorkerSlot<GuestTask>, task: GuestTask) => boolean;

/**
 * The queue's eligibility test for the next slice: a resume runs on its own worker once that one is free; a
 * start needs its tenant under its share and a free worker that fits it. The shares are read only when a
 * start is considered (`shares` is called at most once per test).
 *
 * @example const next = queue.pop(runnableNow(freeSlots(slots), () => view(), fits));
 */
export function runnableNow(
  free: readonly WorkerSlot<GuestTask>[],
  shares: () => ShareView,
  fits: Fits,
): (request: SliceRequest) => boolean {
  let view: ShareView | undefined;
  return (request) =>
    request.kind === "resume"
      ? free.includes(request.task.slot!)
      : (view ??= shares()).mayStart(request.task.tenant) && free.some((slot) => fits(slot, request.task));
}

/**
 * True when some tenant running fewer slices than its share waits to start a guest that no free worker
 * fits: the OS then shares the CPU, so one tenant's long CPU-bound slices never hold another's start.
 *
 * @example if (burstWanted(queue, freeSlots(slots), view, fits)) spawn(true);
 */
export function burstWanted(
  queue: FairQueue<SliceRequest>,
  free: readonly WorkerSlot<GuestTask>[],
  shares: ShareView,
  fits: Fits,
): boolean {
  return queue.some((r, tenant) => {
    if (r.kind !== "start" || free.some((slot) => fits(slot, r.task))) return false;
    return (shares.running.get(tenant) ?? 0) < shares.share(tenant);
  });
}
