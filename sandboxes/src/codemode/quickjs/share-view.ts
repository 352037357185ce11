// A snapshot of how many QuickJS slices each tenant runs and how many new guests each may start now.
import type { TenantShares } from "../../fair-share/tenant-shares.ts";
import type { GuestTask } from "./guest-task.ts";
import type { WorkerSlot } from "./worker-slot.ts";

/** Slices running per tenant and what each tenant may take now (see shareView). */
export interface ShareView {
  running: Map<string, number>;
  share(tenant: string): number;
  mayStart(tenant: string): boolean;
}

/**
 * Slices running per tenant and each tenant's share of the warm workers (TenantShares): a tenant at its
 * share starts no new guest while another tenant is active; alone, it uses every worker.
 *
 * @example const view = shareView(slots, queue.depth().keys(), shares, options.workers); view.mayStart("a");
 */
export function shareView(
  slots: readonly WorkerSlot<GuestTask>[],
  queuedTenants: Iterable<string>,
  shares: TenantShares,
  lanes: number,
): ShareView {
  const running = new Map<string, number>();
  for (const slot of slots) {
    const t = slot.running;
    if (t !== undefined) running.set(t.tenant, (running.get(t.tenant) ?? 0) + 1);
  }
  const busy = [...running.keys(), ...queuedTenants];
  const share = (tenant: string) => shares.share(tenant, lanes, busy);
  return {
    running,
    share,
    mayStart: (tenant) => {
      const s = share(tenant);
      return (running.get(tenant) ?? 0) < s || s >= lanes;
    },
  };
}
