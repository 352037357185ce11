// Weighted fair queueing across tenants (start-time fair queueing): the one ordering every sandbox scheduler uses.

/** The tenant of requests that name none. */
export const ANONYMOUS_TENANT = "";

interface Entry<T> {
  tenant: string;
  item: T;
  /** Virtual start tag: the order of service. */
  tag: number;
  /** Arrival order, to break ties. */
  seq: number;
}

interface TenantState {
  /** Virtual finish tag of the tenant's last enqueued item. */
  finish: number;
  queued: number;
}

/**
 * A queue whose order is fair between tenants and FIFO within one. Each item gets a virtual start tag
 * `max(V, F_t)` when queued, where V is the tag of the item served last and F_t the finish tag of the
 * tenant's previous item; its finish tag is `start + cost / weight`. Serving the smallest tag first gives
 * every backlogged tenant a share of the service proportional to its weight, whatever the others queue:
 * a tenant that queues 1,000 items delays another's next item by at most one item per competing tenant.
 * `pop` can skip items that cannot be served now (bound to a busy worker) without losing their place.
 *
 * @example
 * const q = new FairQueue<string>();
 * q.push("a", 1, "a1"); q.push("a", 1, "a2"); q.push("b", 1, "b1");
 * q.pop(); q.pop(); q.pop(); // → a1, b1, a2
 */
export class FairQueue<T> {
  readonly #entries: Entry<T>[] = [];
  readonly #tenants = new Map<string, TenantState>();
  #virtual = 0;
  #seq = 0;

  /** Items queued. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * Queues `item` for `tenant` (`weight` > 0, default 1; `cost` in units of service, default 1).
   * `front` puts it before the tenant's other items (work the tenant already waited for, e.g. a re-run).
   */
  push(
    tenant: string,
    weight: number | undefined,
    item: T,
    options: { cost?: number; front?: boolean } = {},
  ): void {
    const w = weight !== undefined && Number.isFinite(weight) && weight > 0 ? weight : 1;
    const state = this.#tenants.get(tenant) ?? { finish: 0, queued: 0 };
    const cost = (options.cost ?? 1) / w;
    if (options.front === true) {
      // Ahead of the tenant's own items (and of equal tags): the earliest tag it holds, or now.
      let tag = this.#virtual;
      for (const e of this.#entries) if (e.tenant === tenant && e.tag < tag) tag = e.tag;
      state.finish = Math.max(state.finish, tag + cost);
      state.queued += 1;
      this.#tenants.set(tenant, state);
      this.#entries.push({ tenant, item, tag, seq: -++this.#seq });
      return;
    }
    const start = Math.max(this.#virtual, state.finish);
    state.finish = start + cost;
    state.queued += 1;
    this.#tenants.set(tenant, state);
    this.#entries.push({ tenant, item, tag: start, seq: ++this.#seq });
  }

  /** Removes and returns the first item by fair order among those `eligible` accepts (all by default). */
  pop(eligible?: (item: T, tenant: string) => boolean): { tenant: string; item: T } | undefined {
    let best = -1;
    for (let i = 0; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      const b = best < 0 ? undefined : this.#entries[best]!;
      if (b !== undefined && (e.tag > b.tag || (e.tag === b.tag && e.seq > b.seq))) continue;
      if (eligible !== undefined && !eligible(e.item, e.tenant)) continue;
      best = i;
    }
    if (best < 0) return undefined;
    const [entry] = this.#entries.splice(best, 1);
    this.#virtual = Math.max(this.#virtual, entry!.tag);
    this.#forget(entry!.tenant);
    return { tenant: entry!.tenant, item: entry!.item };
  }

  /** Whether some queued item satisfies `test`. */
  some(test: (item: T, tenant: string) => boolean): boolean {
    return this.#entries.some((e) => test(e.item, e.tenant));
  }

  /** Removes `item` if queued; returns whether it was. */
  remove(item: T): boolean {
    const index = this.#entries.findIndex((e) => e.item === item);
    if (index < 0) return false;
    const [entry] = this.#entries.splice(index, 1);
    this.#forget(entry!.tenant);
    return true;
  }

  /** Removes every item `test` accepts and returns them. */
  removeWhere(test: (item: T, tenant: string) => boolean): T[] {
    const out: T[] = [];
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i]!;
      if (!test(e.item, e.tenant)) continue;
      this.#entries.splice(i, 1);
      this.#forget(e.tenant);
      out.unshift(e.item);
    }
    return out;
  }

  /** Queued items per tenant (tenants with none are absent). */
  depth(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [tenant, state] of this.#tenants) if (state.queued > 0) out.set(tenant, state.queued);
    return out;
  }

  #forget(tenant: string): void {
    const state = this.#tenants.get(tenant);
    if (state === undefined) return;
    state.queued -= 1;
    // An idle tenant keeps no credit: its next item starts at the current virtual time.
    if (state.queued <= 0) this.#tenants.delete(tenant);
  }
}
