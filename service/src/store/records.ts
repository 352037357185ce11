// The rows the store keeps, as the engine sees them (storage-neutral: SQLite today, PostgreSQL later).
import type { Failure } from "@mend/wire";

export type RunMode = "hosted" | "client";
/** What started a run: a one-off execution (HTTP, relay), MCP, a client-driven run, or a hosted run. */
export type RunOrigin = "one-off" | "mcp" | "client" | "hosted";
export type RunStatus = "running" | "waiting_for_input" | "succeeded" | "failed" | "cancelled";

/** The statuses of a finished run: it takes no more steps. */
export const FINISHED_RUNS: ReadonlySet<string> = new Set<RunStatus>(["succeeded", "failed", "cancelled"]);
export type StepKind = "llm" | "tool" | "codemode" | "container" | "human" | "checkpoint";
export type StepStatus = "started" | "succeeded" | "failed" | "interrupted";

export interface RunRecord {
  id: string;
  tenant: string;
  mode: RunMode;
  status: RunStatus;
  goal: string | null;
  policy: string | null;
  policyVersion: string | null;
  metadata: Record<string, unknown> | null;
  tools: string[] | null;
  model: Record<string, unknown> | null;
  output: unknown;
  failure: Failure | null;
  waitingFor: unknown;
  iterations: number;
  implicit: boolean;
  origin: RunOrigin;
  idempotencyKey: string | null;
  createdAt: number;
  updatedAt: number;
  /** The driver holding the run (hosted runs), and until when. */
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** A fork: the run it was forked from, and the parent's first step it did not copy (see ForkReplace). */
  parentRunId: string | null;
  forkedAtSeq: number | null;
  forkReplace: ForkReplace | null;
}

/** The edited step of a fork: the parent's step `seq` (key `key`) runs `input` (a step action) instead. */
export interface ForkReplace {
  seq: number;
  key: string;
  input: unknown;
}

/** Where a step copied into a fork was executed: the run (never a fork's copy) and its seq there. */
export interface ReplayedFrom {
  runId: string;
  seq: number;
}

export interface StepRecord {
  runId: string;
  seq: number;
  key: string;
  kind: StepKind;
  status: StepStatus;
  attempt: number;
  input: unknown;
  output: unknown;
  failure: Failure | null;
  cached: boolean;
  startedAt: number;
  endedAt: number | null;
  usage: Record<string, unknown> | null;
  remediation: Record<string, unknown> | null;
  audit: Record<string, unknown> | null;
  /** The process executing the current attempt (null: not named) and when it last said it is alive. */
  owner: string | null;
  heartbeatAt: number | null;
  /** A step copied from a parent run when this run was forked (not executed here); null otherwise. */
  replayedFrom: ReplayedFrom | null;
}

export interface ToolCallRow {
  runId: string;
  stepSeq: number;
  seq: number;
  tool: string;
  argsJson: string;
  occurrence: number;
  status: "succeeded" | "failed";
  output: unknown;
  failure: Failure | null;
  ms: number;
  cached: boolean;
}

export interface EventRecord {
  id: number;
  runId: string;
  type: string;
  data: unknown;
  at: number;
}

export interface CacheEntry {
  tenant: string;
  tool: string;
  version: string;
  argsHash: string;
  value: unknown;
  sizeBytes: number;
  createdAt: number;
  expiresAt: number;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
}

export interface ApiKeyRecord {
  id: string;
  tenant: string;
  policy: string;
  salt: string;
  hash: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface ToolRecord {
  tenant: string;
  name: string;
  spec: Record<string, unknown>;
  /** Encrypted secret headers; never leaves the service. */
  secret: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** What a tenant stores (`tenant_usage`, kept by the store in the same transaction as each write). */
export interface TenantUsage {
  tenant: string;
  /** Runs, steps, tool calls and checkpoints (their JSON text; events are not counted). */
  journalBytes: number;
  /** Blobs the tenant referenced (each distinct blob once per tenant). */
  blobBytes: number;
  /** The tenant's cache entries. */
  cacheBytes: number;
  /** The quotas the store enforces for the tenant (null: none). */
  quota: { journalBytes: number | null; blobBytes: number | null };
}
