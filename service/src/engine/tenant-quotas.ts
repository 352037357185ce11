// Quotas per tenant (the policy's `limits`): hands the stored quotas to the store (which checks them inside
// its writes), counts open event streams, reports usage, and builds the `quota_exceeded` failure.
import type { Caller } from "../core/caller.ts";
import type { TenantLimits } from "../policy/policy-schema.ts";
import type { TenantUsage } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import { QUOTA_NAMES, type QuotaName } from "../core/quota-failure.ts";

export { quotaFailure, type QuotaName } from "../core/quota-failure.ts";

/** `GET /v1/usage`: the tenant's stored bytes and open streams, each with its limit. */
export interface UsageReport {
  tenant: string;
  usage: { journalBytes: number; blobBytes: number; cacheBytes: number; sseStreams: number };
  limits: Partial<Record<QuotaName, number>>;
}

/**
 * One per process. `apply` before a tenant's writes gives the store the tenant's stored quotas (written only
 * when they change, so a request costs no statement); `openStream` admits an event stream under `sseStreams`.
 * @example await quotas.apply(who); const close = quotas.openStream(who); if (!close) reply429()
 */
export class TenantQuotas {
  readonly #store: Store;
  /** tenant → the quota last written to the store by this process. */
  readonly #applied = new Map<string, string>();
  readonly #streams = new Map<string, number>();

  constructor(store: Store) {
    this.#store = store;
  }

  async apply(who: Caller): Promise<void> {
    const quota = {
      journalBytes: who.policy.limits.journalBytes ?? null,
      blobBytes: who.policy.limits.blobBytes ?? null,
    };
    const key = `${quota.journalBytes}:${quota.blobBytes}`;
    if (this.#applied.get(who.tenant) === key) return;
    await this.#store.setQuota(who.tenant, quota);
    this.#applied.set(who.tenant, key);
  }

  /** Admits one more event stream of the tenant: a release function, or null past `limits.sseStreams`. */
  openStream(who: Caller): (() => void) | null {
    const open = this.#streams.get(who.tenant) ?? 0;
    const max = who.policy.limits.sseStreams;
    if (max !== undefined && open >= max) return null;
    this.#streams.set(who.tenant, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.#streams.get(who.tenant) ?? 1) - 1;
      if (n <= 0) this.#streams.delete(who.tenant);
      else this.#streams.set(who.tenant, n);
    };
  }

  /** The caller's usage and limits. */
  async report(who: Caller): Promise<UsageReport> {
    const u: TenantUsage = await this.#store.usage(who.tenant);
    const l: TenantLimits = who.policy.limits;
    const limits: UsageReport["limits"] = {};
    for (const k of QUOTA_NAMES) if (l[k] !== undefined) limits[k] = l[k];
    return {
      tenant: who.tenant,
      usage: {
        journalBytes: u.journalBytes,
        blobBytes: u.blobBytes,
        cacheBytes: u.cacheBytes,
        sseStreams: this.#streams.get(who.tenant) ?? 0,
      },
      limits,
    };
  }
}
