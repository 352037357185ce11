// Rows ↔ records for every SQL backend: one column naming, JSON kept as text (byte-exact, NUL-safe escapes).
import type { Failure } from "@mend/wire";
import type {
  ApiKeyRecord,
  CacheEntry,
  RunRecord,
  RunStatus,
  StepRecord,
  TenantUsage,
  ToolCallRow,
  ToolRecord,
} from "./records.ts";
import { UnstorableValueError } from "./store-errors.ts";

/** A row as a driver returns it (column name → value). */
export type Row = Record<string, unknown>;

/** JSON text of a value; undefined and null are SQL NULL. */
export const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));

export const num = (v: unknown): number => Number(v ?? 0);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const bool = (v: unknown): boolean => v === true || v === 1 || v === 1n || v === "1" || v === "t";
/** Text columns come back as strings; anything else (never expected) is rendered, not "[object Object]". */
export const str = (v: unknown): string => {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString();
  return typeof v === "number" || typeof v === "bigint" ? v.toString() : "";
};
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));
export const parse = <T>(v: unknown): T => (v === null || v === undefined ? null : JSON.parse(str(v))) as T;

/**
 * Refuses text no backend may alter: a NUL character (PostgreSQL text cannot hold one; SQLite refuses it
 * too, so the contract is the same everywhere). JSON columns are exempt: JSON.stringify escapes NUL.
 * @example assertStorable(["run_1", "key\u0000"]) // throws UnstorableValueError
 */
export function assertStorable(params: readonly unknown[]): void {
  for (const p of params)
    if (typeof p === "string" && p.includes("\u0000"))
      throw new UnstorableValueError("text values may not contain a NUL character (U+0000)");
}

export function toRun(r: Row): RunRecord {
  return {
    id: str(r.id),
    tenant: str(r.tenant),
    mode: r.mode as RunRecord["mode"],
    status: r.status as RunStatus,
    goal: strOrNull(r.goal),
    policy: strOrNull(r.policy),
    policyVersion: strOrNull(r.policy_version),
    metadata: parse(r.metadata),
    tools: parse(r.tools),
    model: parse(r.model),
    output: parse(r.output),
    failure: parse<Failure | null>(r.failure),
    waitingFor: parse(r.waiting_for),
    iterations: num(r.iterations),
    implicit: bool(r.implicit),
    origin: (strOrNull(r.origin) ?? (bool(r.implicit) ? "one-off" : r.mode)) as RunRecord["origin"],
    idempotencyKey: strOrNull(r.idempotency_key),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    leaseOwner: strOrNull(r.lease_owner),
    leaseExpiresAt: numOrNull(r.lease_expires_at),
    parentRunId: strOrNull(r.parent_run_id),
    forkedAtSeq: numOrNull(r.forked_at_seq),
    forkReplace: parse(r.fork_replace),
  };
}

export function toStep(r: Row): StepRecord {
  return {
    runId: str(r.run_id),
    seq: num(r.seq),
    key: str(r.key),
    kind: r.kind as StepRecord["kind"],
    status: r.status as StepRecord["status"],
    attempt: num(r.attempt),
    input: parse(r.input),
    output: parse(r.output),
    failure: parse(r.failure),
    cached: bool(r.cached),
    startedAt: num(r.started_at),
    endedAt: numOrNull(r.ended_at),
    usage: parse(r.usage),
    remediation: parse(r.remediation),
    audit: parse(r.audit),
    owner: strOrNull(r.owner),
    heartbeatAt: numOrNull(r.heartbeat_at),
    replayedFrom:
      r.replayed_from_run === null || r.replayed_from_run === undefined
        ? null
        : { runId: str(r.replayed_from_run), seq: num(r.replayed_from_seq) },
  };
}

export function toToolCall(r: Row): ToolCallRow {
  return {
    runId: str(r.run_id),
    stepSeq: num(r.step_seq),
    seq: num(r.seq),
    tool: str(r.tool),
    argsJson: str(r.args_json),
    occurrence: num(r.occurrence),
    status: r.status as ToolCallRow["status"],
    output: parse(r.output),
    failure: parse(r.failure),
    ms: num(r.ms),
    cached: bool(r.cached),
  };
}

export function toCacheEntry(r: Row): CacheEntry {
  return {
    tenant: str(r.tenant),
    tool: str(r.tool),
    version: str(r.version),
    argsHash: str(r.args_hash),
    value: parse(r.value),
    sizeBytes: num(r.size_bytes),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
  };
}

export function toTool(r: Row): ToolRecord {
  return {
    tenant: str(r.tenant),
    name: str(r.name),
    spec: parse(r.spec),
    secret: strOrNull(r.secret),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function toApiKey(r: Row): ApiKeyRecord {
  return {
    id: str(r.id),
    tenant: str(r.tenant),
    policy: str(r.policy),
    salt: str(r.salt),
    hash: str(r.hash),
    createdAt: num(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}

export function toTenantUsage(r: Row): TenantUsage {
  return {
    tenant: str(r.tenant),
    journalBytes: num(r.journal_bytes),
    blobBytes: num(r.blob_bytes),
    cacheBytes: num(r.cache_bytes),
    quota: { journalBytes: numOrNull(r.journal_limit), blobBytes: numOrNull(r.blob_limit) },
  };
}

/** The failure a shutdown writes on the steps it cuts. */
export const INTERRUPTED_BY_SHUTDOWN = JSON.stringify({
  kind: "interrupted",
  layer: "infrastructure",
  message: "The service shut down while this step ran; it is re-executed when its run resumes.",
  retryable: true,
});

/** listRuns cursor: the last item's (created_at, id), opaque to callers. */
export const encodeCursor = (r: RunRecord): string =>
  Buffer.from(`${r.createdAt}:${r.id}`).toString("base64url");

/** The (created_at, id) of a cursor this store issued, or null for anything else. */
export function decodeCursor(c: string): [number, string] | null {
  const m = /^(\d{1,15}):(run_[\w-]{1,200})$/.exec(Buffer.from(c, "base64url").toString());
  return m ? [Number(m[1]), m[2]!] : null;
}
