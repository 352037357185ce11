// Places QuickJS guests on workers by memory and runs their slices in fair order across tenants; guests parked on
// tool calls hold no worker, and a worker lost to one guest costs the others only a deterministic re-run.
import { makeFailure } from "@mend/wire";
import { crashFailure, timeoutFailure } from "../guest-failures.ts";
import { FairQueue } from "../../fair-share/fair-queue.ts";
import { TenantShares } from "../../fair-share/tenant-shares.ts";
import type { SandboxLoad, TenantLoad } from "../../fair-share/sandbox-load.ts";
import type { ToolCallSettlement } from "../tool-calls.ts";
import type { GuestTask } from "./guest-task.ts";
import type { CallMessage, DoneMessage, GuestCall, ParkedMessage, SettledCall } from "./protocol.ts";
import { WorkerSlot, type SlotConfig, type SlotEvents } from "./worker-slot.ts";

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

/** Options of the scheduler (the engine fills in defaults). */
export interface SchedulerOptions extends SlotConfig {
  /** Workers kept warm. */
  workers: number;
  /** Most workers at once, burst workers included. */
  maxWorkers: number;
  /** Most guests living in one worker (parked ones included). */
  maxGuestsPerWorker: number;
  /** A worker whose wasm memory grew past this takes no new guests and is replaced once empty, in MiB. */
  recycleAboveMb: number;
  /** Extra time after a slice's budget before the host terminates a stuck worker, in ms. */
  killGraceMs: number;
  /** A slice running longer than this moves the other tenants' waiting guests elsewhere, in ms. */
  migrateAfterMs: number;
  /** A burst worker with no guest for this long is retired, in ms. */
  burstIdleMs: number;
  /** Times a guest may start over after losing its worker before it fails `sandbox_unavailable`. */
  maxReruns: number;
  /** Times a guest may move off a busy worker. */
  maxMigrations: number;
}

/** Slices running per tenant and what each tenant may take now (see GuestScheduler's #shareView). */
interface ShareView {
  running: Map<string, number>;
  share(tenant: string): number;
  mayStart(tenant: string): boolean;
}

interface SliceRequest {
  task: GuestTask;
  kind: "start" | "resume";
}

/** The scheduler's counters, next to the per-tenant load. */
export interface SchedulerStats extends SandboxLoad {
  workers: number;
  burstWorkers: number;
  /** Guests living in workers (running, parked or waiting for their next slice). */
  guests: number;
  /** Workers replaced after a crash, a kill or a recycle. */
  replaced: number;
  /** Guests that started over on another worker after theirs was lost. */
  reruns: number;
  /** Guests moved off a worker busy with another tenant's long slice. */
  migrations: number;
  /** Sum of the workers' wasm memory, in MiB. */
  wasmMb: number;
}

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
    this.#placeableBytes = options.wasmMemoryMaxMb * MiB * PLACEABLE_SHARE;
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
      task.fail(makeFailure("interrupted", "The code-mode engine is shutting down.", true));
      return;
    }
    // A limit no worker can ever place (#fits, even empty) would wait in the queue forever: the policy allows
    // more memory than the engine's workers hold. Refused at once, saying what would run.
    const hostableMb = Math.floor((this.#placeableBytes - MIN_GUEST_BYTES) / MiB);
    if (task.limits.memoryMb > hostableMb) {
      task.fail(
        makeFailure(
          "policy_violation",
          `memoryMb=${task.limits.memoryMb} is more than one QuickJS worker can hold for a script (${hostableMb} MiB with its ${this.#options.wasmMemoryMaxMb} MiB of wasm memory); ask for at most ${hostableMb}, or ask the operator to lower the policy's codemode.max.memoryMb`,
          false,
          { rule: "codemode.max.memoryMb", remedy: { action: "change_request", memoryMb: hostableMb } },
        ),
      );
      return;
    }
    this.#shares.touch(task.tenant, task.weight);
    void task.ended.then(() => this.#shares.touch(task.tenant, task.weight)).catch(() => {});
    this.#queue.push(task.tenant, task.weight, { task, kind: "start" });
    this.#pump();
  }

  /** Cancels an execution wherever it is; it ends `interrupted` at once. */
  abort(task: GuestTask): void {
    const failure = makeFailure("interrupted", "The execution was cancelled before it finished.", true);
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
    const tenants: Record<string, TenantLoad> = {};
    const of = (tenant: string): TenantLoad => (tenants[tenant] ??= { running: 0, parked: 0, queued: 0 });
    let guests = 0;
    let wasmBytes = 0;
    for (const slot of this.#slots) {
      wasmBytes += slot.wasmBytes;
      for (const task of slot.residents.values()) {
        guests += 1;
        if (task.state === "running") of(task.tenant).running += 1;
        else if (task.state === "parked") of(task.tenant).parked += 1;
      }
    }
    for (const [tenant, queued] of this.#queue.depth()) of(tenant).queued += queued;
    const sum = (key: keyof TenantLoad) => Object.values(tenants).reduce((n, t) => n + t[key], 0);
    return {
      running: sum("running"),
      parked: sum("parked"),
      queued: sum("queued"),
      tenants,
      workers: this.#slots.filter((s) => !s.burst).length,
      burstWorkers: this.#slots.filter((s) => s.burst).length,
      guests,
      replaced: this.#replaced,
      reruns: this.#reruns,
      migrations: this.#migrations,
      wasmMb: Math.round((wasmBytes / MiB) * 10) / 10,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const failure = makeFailure("interrupted", "The code-mode engine is shutting down.", true);
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
    this.#measured(slot, task, message.memoryBytes);
    slot.wasmBytes = message.wasmBytes;
    if (message.type === "done") {
      this.#leave(slot, task);
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
    const index = this.#slots.indexOf(slot);
    if (index >= 0) this.#slots.splice(index, 1);
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
      const delay = this.#startFailures === 0 ? 0 : Math.min(2000, 50 * 2 ** this.#startFailures);
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
      const free = this.#slots.filter((s) => s.isReady && !s.isBroken && s.running === undefined);
      if (free.length === 0) break;
      let shares: ShareView | undefined;
      const next = this.#queue.pop((request) =>
        request.kind === "resume"
          ? free.includes(request.task.slot!)
          : (shares ??= this.#shareView()).mayStart(request.task.tenant) &&
            free.some((slot) => this.#fits(slot, request.task)),
      );
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

  /**
   * Slices running per tenant and each tenant's share of the warm workers (TenantShares): a tenant at its
   * share starts no new guest while another tenant is active; alone, it uses every worker.
   */
  #shareView(): ShareView {
    const running = new Map<string, number>();
    for (const slot of this.#slots) {
      const t = slot.running;
      if (t !== undefined) running.set(t.tenant, (running.get(t.tenant) ?? 0) + 1);
    }
    const busy = [...running.keys(), ...this.#queue.depth().keys()];
    const lanes = this.#options.workers;
    const share = (tenant: string) => this.#shares.share(tenant, lanes, busy);
    return {
      running,
      share,
      mayStart: (tenant) => {
        const s = share(tenant);
        return (running.get(tenant) ?? 0) < s || s >= lanes;
      },
    };
  }

  #dispatch(slot: WorkerSlot<GuestTask>, request: SliceRequest): void {
    const task = request.task;
    this.#parked.delete(task);
    slot.running = task;
    task.state = "running";
    task.startCounting();
    const budgetMs = Math.max(1, Math.floor(task.remainingMs()));
    if (request.kind === "start") {
      task.slot = slot;
      this.#enter(slot, task);
      slot.post(task.startMessage(budgetMs));
    } else {
      slot.post({ type: "settle", id: task.id, calls: task.pending.splice(0), budgetMs });
    }
    const now = performance.now();
    slot.killAt = now + budgetMs + this.#options.killGraceMs;
    slot.migrateAt = now + this.#options.migrateAfterMs;
    this.#watch();
  }

  /** Arms the watchdog (it disarms itself once nothing runs or is parked). */
  #watch(): void {
    this.#idleTicks = 0;
    if (this.#watchdog !== undefined || this.#closed) return;
    const { migrateAfterMs, killGraceMs } = this.#options;
    const tickMs = Math.max(1, Math.min(20, migrateAfterMs, killGraceMs));
    this.#watchdog = setInterval(() => this.#tick(), tickMs);
  }

  /** Kills slices stuck past their budget and grace, migrates away from long ones, times out parked guests. */
  #tick(): void {
    const now = performance.now();
    let busy = false;
    for (const slot of [...this.#slots]) {
      const task = slot.running;
      if (task === undefined || slot.isBroken) continue;
      busy = true;
      if (now >= slot.killAt) {
        this.#stuck(slot, task);
      } else if (now >= slot.migrateAt) {
        slot.migrateAt = now + this.#options.migrateAfterMs;
        this.#migrateFrom(slot);
      }
    }
    for (const task of [...this.#parked]) {
      if (task.state !== "parked") {
        this.#parked.delete(task);
        continue;
      }
      busy = true;
      if (now < task.parkedUntil) continue;
      this.#parked.delete(task);
      this.#evict(task);
      task.fail(timeoutFailure(task.limits));
    }
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
    slot.abort(0);
    slot.running = undefined;
    slot.killAt = Number.POSITIVE_INFINITY;
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
      this.#leave(slot, task);
      slot.post({ type: "drop", id: task.id });
    }
    this.#tidy(slot);
  }

  /** A slice outlived its budget and grace: its guest times out, its worker is replaced. */
  #stuck(slot: WorkerSlot<GuestTask>, task: GuestTask): void {
    const detail =
      " (the sandbox was stopped from outside: the script was stuck inside a long built-in operation)";
    task.fail(timeoutFailure(task.limits, undefined, detail));
    slot.kill("stuck past its time limit", task.id);
  }

  #call(task: GuestTask, message: GuestCall): void {
    const incarnation = task.id;
    const deliver = (settled: ToolCallSettlement): void =>
      this.#settled(task, incarnation, message.callId, settled);
    void task.broker
      .call(message.tool, message.argsJson)
      .then(deliver)
      .catch((error: unknown) =>
        deliver({
          ok: false,
          seq: 0,
          fatal: false,
          failure: makeFailure(
            "tool_failed",
            `The tool "${message.tool}" failed inside the host: ${String(error)}`,
            true,
            {
              tool: message.tool,
            },
          ),
        }),
      );
  }

  #settled(task: GuestTask, incarnation: number, callId: number, settled: ToolCallSettlement): void {
    if (task.state === "done" || task.id !== incarnation) return;
    const call: SettledCall = settled.ok
      ? { callId, ok: true, json: settled.valueJson }
      : { callId, ok: false, failure: settled.failure, fatal: settled.fatal };
    task.pending.push(call);
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
        const lost =
          why === "full"
            ? `The sandboxes running this script ran out of the memory they share with other scripts ${task.reruns} times`
            : `The sandbox running this script was lost ${task.reruns} times (other scripts crashed it)`;
        task.fail(
          makeFailure("sandbox_unavailable", `${lost}. Retry shortly.`, true, {
            remedy: { action: "retry_later" },
          }),
        );
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

  /** `task` now lives in `slot`: its footprint counts there. */
  #enter(slot: WorkerSlot<GuestTask>, task: GuestTask): void {
    slot.residents.set(task.id, task);
    task.countedBytes = countedBytes(task.memoryBytes);
    slot.footprintBytes += task.countedBytes;
    slot.maxLimitMb = Math.max(slot.maxLimitMb ?? 0, task.limits.memoryMb);
  }

  #leave(slot: WorkerSlot<GuestTask>, task: GuestTask): void {
    if (!slot.residents.delete(task.id)) return;
    slot.footprintBytes -= task.countedBytes;
    task.countedBytes = 0;
    if (task.limits.memoryMb >= (slot.maxLimitMb ?? 0)) slot.maxLimitMb = undefined;
  }

  #measured(slot: WorkerSlot<GuestTask>, task: GuestTask, bytes: number): void {
    task.memoryBytes = bytes;
    if (slot.residents.get(task.id) !== task) return;
    const counted = countedBytes(bytes);
    slot.footprintBytes += counted - task.countedBytes;
    task.countedBytes = counted;
  }

  /** The largest memory limit among `slot`'s guests (recomputed after the largest one left). */
  #maxLimitMb(slot: WorkerSlot<GuestTask>): number {
    if (slot.maxLimitMb === undefined) {
      let max = 0;
      for (const resident of slot.residents.values()) max = Math.max(max, resident.limits.memoryMb);
      slot.maxLimitMb = max;
    }
    return slot.maxLimitMb;
  }

  /** Whether `slot` can take `task` now: room for its memory limit, under the guest count. */
  #fits(slot: WorkerSlot<GuestTask>, task: GuestTask): boolean {
    if (
      slot.draining ||
      slot.running !== undefined ||
      slot.residents.size >= this.#options.maxGuestsPerWorker
    )
      return false;
    const headroom = Math.max(task.limits.memoryMb, this.#maxLimitMb(slot)) * MiB;
    const used = slot.footprintBytes + MIN_GUEST_BYTES;
    return used + headroom <= this.#placeableBytes;
  }

  /** The free worker that takes `task`: the fewest other tenants' guests, then the fewest guests. */
  #place(free: WorkerSlot<GuestTask>[], task: GuestTask): WorkerSlot<GuestTask> {
    let best: WorkerSlot<GuestTask> | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const slot of free) {
      if (!this.#fits(slot, task)) continue;
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

  /** Starts a burst worker when a tenant below its share has a start no free worker can take. */
  #maybeBurst(): void {
    if (this.#queue.size === 0 || this.#spawning > 0 || this.#slots.length >= this.#options.maxWorkers)
      return;
    const free = this.#slots.filter((s) => s.isReady && !s.isBroken && s.running === undefined);
    const shares = this.#shareView();
    const waiting = this.#queue.some((r, tenant) => {
      if (r.kind !== "start" || free.some((slot) => this.#fits(slot, r.task))) return false;
      return (shares.running.get(tenant) ?? 0) < shares.share(tenant);
    });
    if (waiting) this.#spawn(true);
  }

  /** After a slot lost a guest: replace a draining worker once empty, retire an idle burst worker later. */
  #tidy(slot: WorkerSlot<GuestTask>): void {
    if (slot.residents.size > 0 || slot.running !== undefined || slot.isBroken) return;
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
      if (slot.residents.size === 0 && slot.running === undefined && !slot.isBroken) this.#retire(slot);
    }, this.#options.burstIdleMs);
    timer.unref();
  }

  #retire(slot: WorkerSlot<GuestTask>): void {
    const index = this.#slots.indexOf(slot);
    if (index >= 0) this.#slots.splice(index, 1);
    void slot.close().catch(() => {});
  }
}

/** What a guest whose heap measures `bytes` counts for in its worker's wasm memory. */
function countedBytes(bytes: number): number {
  return Math.max(MIN_GUEST_BYTES, Math.ceil(bytes * HEAP_OVERHEAD));
}
