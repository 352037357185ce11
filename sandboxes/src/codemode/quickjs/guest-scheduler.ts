// Places QuickJS guests on workers by memory and runs their slices in fair order across tenants; guests parked on
// tool calls hold no worker, and a worker lost to one guest costs the others only a deterministic re-run.
import { crashFailure, timeoutFailure } from "../guest-failures.ts";
import { FairQueue } from "../../fair-share/fair-queue.ts";
import { TenantShares } from "../../fair-share/tenant-shares.ts";
import type { ToolCallSettlement } from "../tool-calls.ts";
import { fitsSlot, leaveSlot, measuredInSlot, placeableBytes, placeGuest } from "./guest-placement.ts";
import type { GuestTask } from "./guest-task.ts";
import type { CallMessage, DoneMessage, GuestCall, ParkedMessage } from "./protocol.ts";
import { burstWanted, runnableNow, type Fits } from "./queue-policy.ts";
import type { SchedulerOptions } from "./scheduler-options.ts";
import {
  cancelledFailure,
  oversizedFailure,
  rerunsExhaustedFailure,
  shutdownFailure,
  stuckFailure,
} from "./scheduler-failures.ts";
import { schedulerStats, type SchedulerStats } from "./scheduler-stats.ts";
import { shareView, type ShareView } from "./share-view.ts";
import { clearSlice, startSlice, type SliceRequest } from "./slice-dispatch.ts";
import { watchPass, watchTickMs, type WatchActions } from "./slice-watchdog.ts";
import { freeSlots, isIdle, removeSlot, respawnDelayMs } from "./slot-pool.ts";
import { relayToolCall, settledCall } from "./tool-call-relay.ts";
import { WorkerSlot, type SlotEvents } from "./worker-slot.ts";

export type { SchedulerOptions } from "./scheduler-options.ts";
export type { SchedulerStats } from "./scheduler-stats.ts";

const MiB = 1024 * 1024;

/**
 * The QuickJS scheduler.
 *
 * - Many guests per worker: a guest awaiting a tool call is parked (its runtime stays in the worker's
 *   wasm memory, ~0.1–0.3 MiB for a small script) and the worker runs other guests' slices meanwhile.
 *   A worker takes a guest while the measured heaps of its guests plus the largest memory limit among
 *   them (the one guest that may grow, since one runs at a time) fit its wasm memory.
 * - One slice per worker at a time, chosen by the host: starts and resumes wait in one FairQueue, so
 *   tenants get worker time in weighted fair order. New guests go to a worker that runs nothing, the
 *   one with the fewest other tenants' guests. When a tenant below its share of the workers has work
 *   no free worker can take, a burst worker is started (up to `maxWorkers`): the OS then shares the
 *   CPU, so one tenant's long CPU-bound slices never hold another's start.
 * - A slice that runs past `migrateAfterMs` moves the other tenants' guests waiting on that worker
 *   elsewhere (a deterministic re-run, see below), so they are not held behind it either.
 * - A worker lost while a slice ran (wasm abort, heap exhausted, killed when stuck past its budget)
 *   fails that slice's guest only; every other guest it held starts over elsewhere with a fresh budget,
 *   its settled tool calls answered from the broker (same seed and clock: the same path, no tool
 *   invoked twice).
 *
 * @example const s = new GuestScheduler(options); s.submit(task); const end = await task.ended;
 */
export class GuestScheduler implements SlotEvents<GuestTask> {
  readonly #options: SchedulerOptions;
  /** What a worker's guests may hold at most, together (#fits), in bytes: a share of its wasm memory. */
  readonly #placeableBytes: number;
  /** Whether `slot` can take `task` now (see fitsSlot). */
  readonly #fits: Fits = (slot, task) =>
    fitsSlot(slot, task, this.#options.maxGuestsPerWorker, this.#placeableBytes);
  readonly #slots: WorkerSlot<GuestTask>[] = [];
  readonly #queue = new FairQueue<SliceRequest>();
  readonly #timers = new Map<WorkerSlot<GuestTask>, ReturnType<typeof setTimeout>[]>();
  readonly #readyWaiters: (() => void)[] = [];
  #ids = 0;
  #slotSeq = 0;
  #spawning = 0;
  #replaced = 0;
  #reruns = 0;
  #migrations = 0;
  #startFailures = 0;
  #closed = false;
  readonly #shares = new TenantShares();
  #repump: ReturnType<typeof setTimeout> | undefined;
  /** Guests parked on tool calls, each with its deadline (`parkedUntil`), checked by the watchdog. */
  readonly #parked = new Set<GuestTask>();
  /**
   * One interval for every time limit of running slices (stuck, migrate) and parked guests (timeout), armed
   * while any exists: a timer per slice and per park cost more than the slices of a short script.
   */
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #idleTicks = 0;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#placeableBytes = placeableBytes(options.wasmMemoryMaxMb);
    for (let i = 0; i < options.workers; i++) this.#spawn(false);
  }

  /** A fresh incarnation id. */
  nextId(): number {
    return ++this.#ids;
  }

  /** Resolves when every warm worker has loaded its wasm module. */
  async ready(): Promise<void> {
    while (!this.#closed && this.#slots.filter((s) => !s.burst && s.isReady).length < this.#options.workers) {
      await new Promise<void>((resolve) => this.#readyWaiters.push(resolve));
    }
  }

  /** Queues a new execution. */
  submit(task: GuestTask): void {
    if (this.#closed) {
      task.fail(shutdownFailure());
      return;
    }
    // A limit no worker can ever place (#fits, even empty) is refused at once (see oversizedFailure).
    const refused = oversizedFailure(task.limits.memoryMb, this.#options.wasmMemoryMaxMb);
    if (refused !== undefined) {
      task.fail(refused);
      return;
    }
    this.#shares.touch(task.tenant, task.weight);
    void task.ended.then(() => this.#shares.touch(task.tenant, task.weight)).catch(() => {});
    this.#queue.push(task.tenant, task.weight, { task, kind: "start" });
    this.#pump();
  }

  /** Cancels an execution wherever it is; it ends `interrupted` at once. */
  abort(task: GuestTask): void {
    const failure = cancelledFailure();
    switch (task.state) {
      case "done":
        return;
      case "queued":
      case "runnable":
        this.#queue.removeWhere((r) => r.task === task);
        if (task.state === "runnable") this.#evict(task);
        task.fail(failure);
        return;
      case "parked":
        this.#evict(task);
        task.fail(failure);
        return;
      case "running": {
        const slot = task.slot!;
        slot.abort(task.id);
        task.fail(failure);
        // The guest stops at its next interrupt check; one stuck in a built-in is killed after the grace.
        this.#arm(
          slot,
          setTimeout(() => this.#stuck(slot, task), this.#options.killGraceMs),
        );
        return;
      }
    }
  }

  /** Load per tenant plus the scheduler's counters. */
  stats(): SchedulerStats {
    const counters = { replaced: this.#replaced, reruns: this.#reruns, migrations: this.#migrations };
    return schedulerStats(this.#slots, this.#queue.depth(), counters);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const failure = shutdownFailure();
    for (const request of this.#queue.removeWhere(() => true)) request.task.fail(failure);
    for (const slot of this.#slots) for (const task of slot.residents.values()) task.fail(failure);
    for (const timers of this.#timers.values()) for (const timer of timers) clearTimeout(timer);
    clearTimeout(this.#repump);
    clearInterval(this.#watchdog);
    this.#parked.clear();
    for (const resolve of this.#readyWaiters.splice(0)) resolve();
    await Promise.all(this.#slots.splice(0).map((slot) => slot.close()));
  }

  // --- worker events -----------------------------------------------------------------------------

  onReady(slot: WorkerSlot<GuestTask>): void {
    this.#spawning -= slot.burst ? 1 : 0;
    this.#startFailures = 0;
    if (!slot.burst) for (const resolve of this.#readyWaiters.splice(0)) resolve();
    this.#retireLater(slot);
    this.#pump();
  }

  onMessage(slot: WorkerSlot<GuestTask>, message: CallMessage | ParkedMessage | DoneMessage): void {
    if (message.calls !== undefined) {
      // Calls first (as if each had come in a message of its own before the slice's end).
      const caller = slot.residents.get(message.id);
      if (caller !== undefined) for (const call of message.calls) this.#call(caller, call);
    }
    if (message.type === "call") return;
    const task = slot.running;
    if (task === undefined || task.id !== message.id) return;
    this.#endSlice(slot);
    task.stopCounting();
    task.addLogs(message.logs, message.logsTruncated);
    measuredInSlot(slot, task, message.memoryBytes);
    slot.wasmBytes = message.wasmBytes;
    if (message.type === "done") {
      leaveSlot(slot, task);
      if (message.outcome.status === "rerun") {
        // The worker's memory is full of other guests: it takes no new one, and this one starts over elsewhere.
        slot.draining = true;
        this.#rerun(task, "full");
      } else task.finish(message.outcome);
    } else if (task.state === "done") {
      this.#evict(task);
    } else if (task.pending.length > 0) {
      task.state = "runnable";
      this.#queue.push(task.tenant, task.weight, { task, kind: "resume" });
    } else {
      this.#park(task);
    }
    // Wasm memory never shrinks: a worker holding much more than its guests need is replaced once empty.
    if (slot.wasmBytes > this.#options.recycleAboveMb * MiB + slot.footprintBytes) slot.draining = true;
    this.#tidy(slot);
    this.#pump();
  }

  onBroken(slot: WorkerSlot<GuestTask>, culprit: number | undefined, reason: string): void {
    removeSlot(this.#slots, slot);
    for (const timer of this.#timers.get(slot) ?? []) clearTimeout(timer);
    this.#timers.delete(slot);
    if (!slot.isReady) {
      this.#startFailures += 1;
      if (slot.burst) this.#spawning -= 1;
    }
    for (const task of [...slot.residents.values()]) {
      if (task.id === culprit) task.fail(crashFailure(task.limits, reason));
      else this.#rerun(task, "crash");
    }
    slot.residents.clear();
    if (this.#closed) return;
    this.#replaced += 1;
    if (!slot.burst) {
      // A worker that cannot even start is retried with a growing delay, not in a tight loop.
      const delay = respawnDelayMs(this.#startFailures);
      if (delay === 0) this.#spawn(false);
      else setTimeout(() => this.#closed || this.#spawn(false), delay).unref();
    }
    this.#pump();
  }

  // --- scheduling ----------------------------------------------------------------------------------

  #spawn(burst: boolean): WorkerSlot<GuestTask> {
    const slot = new WorkerSlot<GuestTask>(++this.#slotSeq, this.#options, this, burst);
    if (burst) this.#spawning += 1;
    this.#slots.push(slot);
    return slot;
  }

  /** Runs as many slices as there are free workers, in fair order; starts a burst worker when fair. */
  #pump(): void {
    if (this.#closed) return;
    // Nothing queued is the common end of a slice: no snapshot of the workers and shares is needed then.
    while (this.#queue.size > 0) {
      const free = freeSlots(this.#slots);
      if (free.length === 0) break;
      const next = this.#queue.pop(runnableNow(free, () => this.#shareView(), this.#fits));
      if (next === undefined) break;
      const request = next.item;
      const slot = request.kind === "resume" ? request.task.slot! : this.#place(free, request.task);
      this.#dispatch(slot, request);
    }
    this.#maybeBurst();
    // Workers held back for a tenant active a moment ago go to the others once its window has passed.
    if (this.#queue.size > 0 && this.#repump === undefined) {
      this.#repump = setTimeout(() => {
        this.#repump = undefined;
        this.#pump();
      }, 250);
      this.#repump.unref();
    }
  }

  /** Slices running per tenant and each tenant's share of the warm workers (see shareView). */
  #shareView(): ShareView {
    return shareView(this.#slots, this.#queue.depth().keys(), this.#shares, this.#options.workers);
  }

  #dispatch(slot: WorkerSlot<GuestTask>, request: SliceRequest): void {
    this.#parked.delete(request.task);
    startSlice(slot, request, this.#options.killGraceMs, this.#options.migrateAfterMs);
    this.#watch();
  }

  /** Arms the watchdog (it disarms itself once nothing runs or is parked). */
  #watch(): void {
    this.#idleTicks = 0;
    if (this.#watchdog !== undefined || this.#closed) return;
    const tickMs = watchTickMs(this.#options.migrateAfterMs, this.#options.killGraceMs);
    this.#watchdog = setInterval(() => this.#tick(), tickMs);
  }

  /** What a watchdog pass does about a limit reached (one object for every tick). */
  readonly #watchActions: WatchActions = {
    stuck: (slot, task) => this.#stuck(slot, task),
    migrateFrom: (slot) => this.#migrateFrom(slot),
    timedOut: (task) => {
      this.#evict(task);
      task.fail(timeoutFailure(task.limits));
    },
  };

  /** Kills slices stuck past their budget and grace, migrates away from long ones, times out parked guests. */
  #tick(): void {
    const busy = watchPass(this.#slots, this.#parked, this.#options.migrateAfterMs, this.#watchActions);
    if (busy) this.#idleTicks = 0;
    else if (++this.#idleTicks >= 2) {
      clearInterval(this.#watchdog);
      this.#watchdog = undefined;
    }
  }

  #arm(slot: WorkerSlot<GuestTask>, timer: ReturnType<typeof setTimeout>): void {
    const timers = this.#timers.get(slot) ?? [];
    timers.push(timer);
    this.#timers.set(slot, timers);
  }

  #endSlice(slot: WorkerSlot<GuestTask>): void {
    for (const timer of this.#timers.get(slot) ?? []) clearTimeout(timer);
    this.#timers.delete(slot);
    clearSlice(slot);
  }

  /** The guest awaits tool calls: its budget runs, a timer ends it if nothing settles in time. */
  #park(task: GuestTask): void {
    task.state = "parked";
    task.startCounting();
    task.parkedUntil = performance.now() + Math.max(0, task.remainingMs()) + 1;
    this.#parked.add(task);
    this.#watch();
  }

  /** Removes a guest from its worker (the worker disposes it when it gets to the message). */
  #evict(task: GuestTask): void {
    const slot = task.slot;
    if (slot === undefined) return;
    if (slot.residents.get(task.id) === task) {
      leaveSlot(slot, task);
      slot.post({ type: "drop", id: task.id });
    }
    this.#tidy(slot);
  }

  /** A slice outlived its budget and grace: its guest times out, its worker is replaced. */
  #stuck(slot: WorkerSlot<GuestTask>, task: GuestTask): void {
    task.fail(stuckFailure(task.limits));
    slot.kill("stuck past its time limit", task.id);
  }

  #call(task: GuestTask, message: GuestCall): void {
    const incarnation = task.id;
    relayToolCall(task.broker, message, (settled) =>
      this.#settled(task, incarnation, message.callId, settled),
    );
  }

  #settled(task: GuestTask, incarnation: number, callId: number, settled: ToolCallSettlement): void {
    if (task.state === "done" || task.id !== incarnation) return;
    task.pending.push(settledCall(callId, settled));
    if (task.state !== "parked") return;
    this.#parked.delete(task);
    task.stopCounting();
    task.state = "runnable";
    this.#queue.push(task.tenant, task.weight, { task, kind: "resume" });
    this.#pump();
  }

  /** Starts `task` over on another worker (replaying its tool calls), or fails it after too many tries. */
  #rerun(task: GuestTask, why: "crash" | "full" | "migrate"): void {
    if (task.state === "done") return;
    this.#queue.removeWhere((r) => r.task === task);
    if (why === "migrate") {
      this.#evict(task);
      task.migrations += 1;
      this.#migrations += 1;
    } else {
      task.reruns += 1;
      this.#reruns += 1;
      if (task.reruns > this.#options.maxReruns) {
        task.fail(rerunsExhaustedFailure(why, task.reruns));
        return;
      }
    }
    task.restart(this.nextId());
    this.#queue.push(task.tenant, task.weight, { task, kind: "start" }, { front: true });
  }

  /** While `slot` runs a long slice, other tenants' guests waiting on it move elsewhere. */
  #migrateFrom(slot: WorkerSlot<GuestTask>): void {
    const hog = slot.running;
    if (hog === undefined) return;
    let moved = false;
    for (const task of [...slot.residents.values()]) {
      if (task === hog || task.tenant === hog.tenant || task.state !== "runnable") continue;
      if (task.migrations >= this.#options.maxMigrations) continue;
      this.#rerun(task, "migrate");
      moved = true;
    }
    if (moved) this.#pump();
  }

  /** The free worker that takes `task` (see placeGuest). */
  #place(free: WorkerSlot<GuestTask>[], task: GuestTask): WorkerSlot<GuestTask> {
    return placeGuest(free, task, this.#options.maxGuestsPerWorker, this.#placeableBytes);
  }

  /** Starts a burst worker when a tenant below its share has a start no free worker can take. */
  #maybeBurst(): void {
    if (this.#queue.size === 0 || this.#spawning > 0 || this.#slots.length >= this.#options.maxWorkers)
      return;
    const free = freeSlots(this.#slots);
    const shares = this.#shareView();
    if (burstWanted(this.#queue, free, shares, this.#fits)) this.#spawn(true);
  }

  /** After a slot lost a guest: replace a draining worker once empty, retire an idle burst worker later. */
  #tidy(slot: WorkerSlot<GuestTask>): void {
    if (!isIdle(slot)) return;
    slot.idleSince = performance.now();
    if (slot.draining) {
      this.#retire(slot);
      this.#replaced += 1;
      if (!slot.burst) this.#spawn(false);
      return;
    }
    this.#retireLater(slot);
  }

  #retireLater(slot: WorkerSlot<GuestTask>): void {
    if (!slot.burst) return;
    const timer = setTimeout(() => {
      if (isIdle(slot)) this.#retire(slot);
    }, this.#options.burstIdleMs);
    timer.unref();
  }

  #retire(slot: WorkerSlot<GuestTask>): void {
    removeSlot(this.#slots, slot);
    void slot.close().catch(() => {});
  }
}
