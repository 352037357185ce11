// Per-tenant cap on executions running at once, so one tenant cannot take every sandbox.

/** A held slot: call it once to give the slot back (further calls do nothing). */
export type Release = () => void;

interface Waiter {
  resolve(release: Release): void;
  reject(err: Error): void;
}

/**
 * Counts running executions by tenant; a caller either takes a slot at once or waits in its tenant's
 * FIFO queue until one is released.
 * @example const release = slots.tryAcquire("acme", 4); if (!release) reject429(); try { ... } finally { release() }
 */
export class TenantConcurrency {
  readonly #running = new Map<string, number>();
  readonly #waiting = new Map<string, Waiter[]>();

  /** A release function when under `max` (undefined: no limit), or null when the tenant is at its limit. */
  tryAcquire(tenant: string, max: number | undefined): Release | null {
    const n = this.#running.get(tenant) ?? 0;
    if (max !== undefined && n >= max) return null;
    this.#running.set(tenant, n + 1);
    return this.#releaser(tenant);
  }

  /** Waits for a slot (FIFO within the tenant); rejects when `signal` aborts first. */
  acquire(tenant: string, max: number | undefined, signal?: AbortSignal): Promise<Release> {
    const now = this.tryAcquire(tenant, max);
    if (now) return Promise.resolve(now);
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<Release>((resolve, reject) => {
      const queue = this.#waiting.get(tenant) ?? [];
      this.#waiting.set(tenant, queue);
      const waiter: Waiter = {
        resolve: (r) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(r);
        },
        reject,
      };
      const onAbort = (): void => {
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        if (queue.length === 0) this.#waiting.delete(tenant);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(waiter);
    });
  }

  #releaser(tenant: string): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const queue = this.#waiting.get(tenant);
      const next = queue?.shift();
      if (queue && queue.length === 0) this.#waiting.delete(tenant);
      if (next) {
        // The slot passes straight to the next waiter: the running count stays the same.
        next.resolve(this.#releaser(tenant));
        return;
      }
      const left = (this.#running.get(tenant) ?? 1) - 1;
      if (left <= 0) this.#running.delete(tenant);
      else this.#running.set(tenant, left);
    };
  }

  running(tenant: string): number {
    return this.#running.get(tenant) ?? 0;
  }

  waiting(tenant: string): number {
    return this.#waiting.get(tenant)?.length ?? 0;
  }

  /** Running and waiting executions of every tenant that has any. */
  snapshot(): Record<string, { running: number; waiting: number }> {
    const tenants = new Set([...this.#running.keys(), ...this.#waiting.keys()]);
    return Object.fromEntries(
      [...tenants].map((t) => [t, { running: this.running(t), waiting: this.waiting(t) }]),
    );
  }
}
