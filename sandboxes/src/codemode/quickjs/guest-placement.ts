// Memory placement of QuickJS guests: what one counts for in a worker's wasm memory, which worker fits it.
import type { GuestTask } from "./guest-task.ts";
import type { WorkerSlot } from "./worker-slot.ts";

const MiB = 1024 * 1024;
/**
 * What a guest is counted as at least, in bytes: a parked trivial script costs ~120 KiB of wasm memory
 * (runtime, context, globals, allocator overhead) where QuickJS measures ~60 KiB of heap.
 */
const MIN_GUEST_BYTES = 128 * 1024;
/** Wasm memory per byte QuickJS measures (allocator overhead). */
const HEAP_OVERHEAD = 1.25;
/** Share of a worker's wasm memory guests may be placed into (the rest absorbs fragmentation). */
const PLACEABLE_SHARE = 0.85;

/**
 * What a worker's guests may hold at most, together (see fitsSlot), in bytes: a share of its wasm memory.
 *
 * @example const placeable = placeableBytes(options.wasmMemoryMaxMb);
 */
export function placeableBytes(wasmMemoryMaxMb: number): number {
  return wasmMemoryMaxMb * MiB * PLACEABLE_SHARE;
}

/**
 * The largest memory limit a worker can ever place (fitsSlot, even empty), in whole MiB.
 *
 * @example if (task.limits.memoryMb > hostableMb(placeable)) refuse();
 */
export function hostableMb(placeable: number): number {
  return Math.floor((placeable - MIN_GUEST_BYTES) / MiB);
}

/**
 * What a guest whose heap measures `bytes` counts for in its worker's wasm memory.
 *
 * @example task.countedBytes = countedBytes(task.memoryBytes);
 */
export function countedBytes(bytes: number): number {
  return Math.max(MIN_GUEST_BYTES, Math.ceil(bytes * HEAP_OVERHEAD));
}

/**
 * `task` now lives in `slot`: its footprint counts there.
 *
 * @example enterSlot(slot, task); slot.post(task.startMessage(budgetMs));
 */
export function enterSlot(slot: WorkerSlot<GuestTask>, task: GuestTask): void {
  slot.residents.set(task.id, task);
  task.countedBytes = countedBytes(task.memoryBytes);
  slot.footprintBytes += task.countedBytes;
  slot.maxLimitMb = Math.max(slot.maxLimitMb ?? 0, task.limits.memoryMb);
}

/**
 * `task` no longer lives in `slot`: its footprint is released (nothing when it was not a resident).
 *
 * @example leaveSlot(slot, task); task.finish(outcome);
 */
export function leaveSlot(slot: WorkerSlot<GuestTask>, task: GuestTask): void {
  if (!slot.residents.delete(task.id)) return;
  slot.footprintBytes -= task.countedBytes;
  task.countedBytes = 0;
  if (task.limits.memoryMb >= (slot.maxLimitMb ?? 0)) slot.maxLimitMb = undefined;
}

/**
 * `task`'s heap measured `bytes` at a slice's end: its footprint in `slot` follows (while it lives there).
 *
 * @example measuredInSlot(slot, task, message.memoryBytes);
 */
export function measuredInSlot(slot: WorkerSlot<GuestTask>, task: GuestTask, bytes: number): void {
  task.memoryBytes = bytes;
  if (slot.residents.get(task.id) !== task) return;
  const counted = countedBytes(bytes);
  slot.footprintBytes += counted - task.countedBytes;
  task.countedBytes = counted;
}

/** The largest memory limit among `slot`'s guests (recomputed after the largest one left). */
function maxLimitMb(slot: WorkerSlot<GuestTask>): number {
  if (slot.maxLimitMb === undefined) {
    let max = 0;
    for (const resident of slot.residents.values()) max = Math.max(max, resident.limits.memoryMb);
    slot.maxLimitMb = max;
  }
  return slot.maxLimitMb;
}

/**
 * Whether `slot` can take `task` now: room for its memory limit, under the guest count.
 *
 * @example const fits = fitsSlot(slot, task, options.maxGuestsPerWorker, placeableBytes(256));
 */
export function fitsSlot(
  slot: WorkerSlot<GuestTask>,
  task: GuestTask,
  maxGuestsPerWorker: number,
  placeable: number,
): boolean {
  if (slot.draining || slot.running !== undefined || slot.residents.size >= maxGuestsPerWorker) return false;
  const headroom = Math.max(task.limits.memoryMb, maxLimitMb(slot)) * MiB;
  const used = slot.footprintBytes + MIN_GUEST_BYTES;
  return used + headroom <= placeable;
}

/**
 * The free worker that takes `task`: the fewest other tenants' guests, then the fewest guests. The caller
 * has checked that one of `free` fits it.
 *
 * @example const slot = placeGuest(free, task, options.maxGuestsPerWorker, placeable);
 */
export function placeGuest(
  free: WorkerSlot<GuestTask>[],
  task: GuestTask,
  maxGuestsPerWorker: number,
  placeable: number,
): WorkerSlot<GuestTask> {
  let best: WorkerSlot<GuestTask> | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const slot of free) {
    if (!fitsSlot(slot, task, maxGuestsPerWorker, placeable)) continue;
    let others = 0;
    for (const resident of slot.residents.values()) if (resident.tenant !== task.tenant) others += 1;
    const score = others * 1_000_000 + slot.residents.size;
    if (score < bestScore) {
      best = slot;
      bestScore = score;
    }
  }
  return best!;
}
