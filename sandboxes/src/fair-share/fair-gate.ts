// Lanes of a shared capacity (V8 CPU slices, containers) handed out fairly between tenants, with a burst lane
// so that a tenant holding nothing never waits behind another tenant's long holds.
import { FairQueue } from "./fair-queue.ts";
import type { SandboxLoad, TenantLoad } from "./sandbox-load.ts";
import { TenantShares } from "./tenant-shares.ts";

/** Options of a FairGate. */
export interface FairGateOptions {
  /** Lanes held at once in the normal case. */
  lanes: number;
  /**
   * Extra lanes granted beyond `lanes`, only to a tenant holding none while every lane is held: its
   * first unit of work starts at once (the OS or the engine shares the CPU) instead of waiting for
   * another tenant's work to end. Default `lanes`.
   */
  burstLanes?: number;
  /** How long a tenant counts as active after its last request, in ms (see TenantShares). Default 2000. */
  activeWindowMs?: number;
}

/** A granted lane; release it exactly once (later calls are ignored). */
export interface Lease {
  release(): void;
  /** How long the request waited for its lane, in ms. */
  readonly waitedMs: number;
}

interface Waiter {
  tenant: string;
  weight: number;
  queuedAt: number;
  grant: (lease: Lease) => void;
  fail: (error: Error) => void;
}

/**
 * A counting semaphore whose waiters are served in weighted fair order (FairQueue), with per-tenant
 * shares (TenantShares): while another tenant is active (waiting, holding, or asked a moment ago), a
 * tenant holding its share of the lanes (at least 1) gets no more, so the other's next request finds
 * capacity and competes for the CPU with fewer threads. A tenant alone uses every lane.
 *
 * @example
 * const gate = new FairGate({ lanes: 4 });
 * const lease = await gate.acquire("acme", 1, signal);
 * try { await work(); } finally { lease.release(); }
 */
export class FairGate {
  readonly #lanes: number;
  readonly #burst: number;
  readonly #queue = new FairQueue<Waiter>();
  readonly #held = new Map<string, number>();
  readonly #shares: TenantShares;
  readonly #windowMs: number;
  #repump: ReturnType<typeof setTimeout> | undefined;
  #inUse = 0;
  #closed = false;

  constructor(options: FairGateOptions) {
    this.#lanes = Math.max(1, Math.floor(options.lanes));
    this.#burst = Math.max(0, Math.floor(options.burstLanes ?? this.#lanes));
    this.#windowMs = options.activeWindowMs ?? 2000;
    this.#shares = new TenantShares(this.#windowMs);
  }

  /** Waits for a lane (fair order); rejects when `signal` aborts first or the gate is closed. */
  acquire(tenant: string, weight = 1, signal?: AbortSignal): Promise<Lease> {
    if (this.#closed) return Promise.reject(new Error("the sandbox is shutting down"));
    if (signal?.aborted === true) return Promise.reject(new Error("aborted while waiting for a lane"));
    this.#shares.touch(tenant, weight);
    const queuedAt = performance.now();
    if (this.#queue.size === 0 && this.#grantable(tenant))
      return Promise.resolve(this.#grant(tenant, queuedAt));
    return new Promise<Lease>((resolve, reject) => {
      const onAbort = (): void => {
        if (this.#queue.remove(waiter)) reject(new Error("aborted while waiting for a lane"));
      };
      const waiter: Waiter = {
        tenant,
        weight,
        queuedAt,
        grant: (lease) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(lease);
        },
        fail: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(tenant, weight, waiter);
      this.#pump();
    });
  }

  /** Lanes held and requests waiting, in total and per tenant. */
  load(): SandboxLoad {
    const tenants: Record<string, TenantLoad> = {};
    for (const [tenant, held] of this.#held) tenants[tenant] = { running: held, parked: 0, queued: 0 };
    for (const [tenant, queued] of this.#queue.depth()) {
      tenants[tenant] = { running: tenants[tenant]?.running ?? 0, parked: 0, queued };
    }
    return { running: this.#inUse, parked: 0, queued: this.#queue.size, tenants };
  }

  /** Refuses new requests and fails the waiting ones; held leases stay valid. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#repump);
    for (const waiter of this.#queue.removeWhere(() => true)) {
      waiter.fail(new Error("the sandbox is shutting down"));
    }
  }

  /** Whether `tenant` may take a lane now (ignoring the queue's order). */
  #grantable(tenant: string): boolean {
    const held = this.#held.get(tenant) ?? 0;
    if (this.#inUse < this.#lanes) {
      const busy = [...this.#held.keys(), ...this.#queue.depth().keys()];
      const share = this.#shares.share(tenant, this.#lanes, busy);
      // Over its share only when it is the only tenant active (its share is then every lane).
      return held < share || share >= this.#lanes;
    }
    return held === 0 && this.#inUse < this.#lanes + this.#burst;
  }

  #grant(tenant: string, queuedAt: number): Lease {
    this.#inUse += 1;
    this.#held.set(tenant, (this.#held.get(tenant) ?? 0) + 1);
    let released = false;
    return {
      waitedMs: performance.now() - queuedAt,
      release: () => {
        if (released) return;
        released = true;
        this.#inUse -= 1;
        this.#shares.touch(tenant, this.#shares.weight(tenant));
        const left = (this.#held.get(tenant) ?? 1) - 1;
        if (left > 0) this.#held.set(tenant, left);
        else this.#held.delete(tenant);
        this.#pump();
      },
    };
  }

  #pump(): void {
    for (;;) {
      const next = this.#queue.pop((w) => this.#grantable(w.tenant));
      if (next === undefined) break;
      next.item.grant(this.#grant(next.tenant, next.item.queuedAt));
    }
    // Lanes held back for a tenant active a moment ago are handed out once its window has passed.
    if (this.#queue.size > 0 && this.#inUse < this.#lanes && this.#repump === undefined && !this.#closed) {
      this.#repump = setTimeout(() => {
        this.#repump = undefined;
        this.#pump();
      }, this.#windowMs);
      this.#repump.unref();
    }
  }
}
