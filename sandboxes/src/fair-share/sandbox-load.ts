// What a sandbox reports about its load: work running, waiting on tools (parked) and queued, per tenant.

/** One tenant's share of a sandbox's load. */
export interface TenantLoad {
  /** Units of work holding capacity now (QuickJS slices, V8 slices, containers). */
  running: number;
  /** Executions waiting on a tool call, holding no CPU (code-mode only). */
  parked: number;
  /** Work waiting for capacity. */
  queued: number;
}

/** A sandbox's load in total and per tenant (the tenant "" is requests that named none). */
export interface SandboxLoad extends TenantLoad {
  tenants: Record<string, TenantLoad>;
}
