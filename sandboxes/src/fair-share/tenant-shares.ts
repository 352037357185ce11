// Each tenant's share of a capacity while tenants compete: weighted, counting tenants active a moment ago too.

/** How long a tenant counts as active after its last request, in ms. */
const ACTIVE_WINDOW_MS = 2000;

/**
 * The lanes a tenant may hold while others compete: `lanes × weight / Σ weights of the active tenants`,
 * at least one. A tenant is active while it holds or waits for capacity, and for ACTIVE_WINDOW_MS after
 * its last request: a tenant sending short requests one after another (each over in milliseconds) keeps
 * its share between them, instead of the other tenant refilling every lane in the gaps (nothing running
 * can be preempted, so a lane given away is gone until its work ends).
 *
 * @example const shares = new TenantShares(); shares.touch("a", 1); shares.share("a", 4, ["a", "b"]) // → 2
 */
export class TenantShares {
  readonly #seen = new Map<string, { at: number; weight: number }>();
  readonly #windowMs: number;

  constructor(windowMs = ACTIVE_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  /** Records a request of `tenant` (its weight, > 0; default 1). */
  touch(tenant: string, weight = 1): void {
    this.#seen.set(tenant, { at: performance.now(), weight: weight > 0 ? weight : 1 });
  }

  /** The weight `tenant` last asked with. */
  weight(tenant: string): number {
    return this.#seen.get(tenant)?.weight ?? 1;
  }

  /** `tenant`'s share of `lanes`, given the tenants holding or waiting for capacity now (`busy`). */
  share(tenant: string, lanes: number, busy: Iterable<string>): number {
    const now = performance.now();
    const active = new Set<string>(busy);
    active.add(tenant);
    for (const [t, seen] of this.#seen) {
      if (now - seen.at <= this.#windowMs) active.add(t);
      else if (!active.has(t)) this.#seen.delete(t);
    }
    let total = 0;
    for (const t of active) total += this.weight(t);
    return Math.max(1, Math.floor((lanes * this.weight(tenant)) / total));
  }
}
