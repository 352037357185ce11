// Per-tenant cap on executions running at once, so one tenant cannot take every sandbox.

/**
 * Counts running executions by tenant.
 * @example const release = slots.tryAcquire("acme", 4); if (!release) reject429(); try { ... } finally { release() }
 */
export class TenantConcurrency {
  readonly #running = new Map<string, number>();

  /** A release function when under `max` (undefined: no limit), or null when the tenant is at its limit. */
  tryAcquire(tenant: string, max: number | undefined): (() => void) | null {
    const n = this.#running.get(tenant) ?? 0;
    if (max !== undefined && n >= max) return null;
    this.#running.set(tenant, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#running.get(tenant) ?? 1) - 1;
      if (left <= 0) this.#running.delete(tenant);
      else this.#running.set(tenant, left);
    };
  }

  running(tenant: string): number {
    return this.#running.get(tenant) ?? 0;
  }
}
