// What a step's journal entry keeps as output, and how large values move to the blob store and back.
import type { ExecutionResponse } from "@mend/wire";
import type { BlobStore } from "../store/blob-store.ts";
import type { Store } from "../store/store.ts";
import { putTenantBlob } from "../store/put-blob.ts";

/** Strings longer than this go to the blob store; the journal keeps `{ $blob, size }`. */
export const INLINE_MAX_BYTES = 4 * 1024;

/** The part of an execution response that is journaled (ids and replay flags are derived on read). */
export type StepOutput = Omit<
  ExecutionResponse,
  "id" | "runId" | "stepSeq" | "key" | "status" | "failure" | "attempts" | "replayed"
>;

/** The fields of an execution's output that may move to the blob store. */
export const EXECUTION_EXTERNAL_FIELDS = ["stdout", "stderr", "result"] as const;

/**
 * Replaces large fields by `{ $blob, size }` references. `fields` names the top-level fields that may
 * move (a string moves as its text; any other value as its JSON). Which fields were moved is listed out of
 * band in `$externalized` (and the JSON-encoded ones in `$json`), so a guest value that merely looks like
 * a reference is never mistaken for one.
 * @example await externalize({ stdout: "x".repeat(10_000) }, ["stdout"], "local", store, blobs)
 */
export async function externalize(
  out: Record<string, unknown>,
  fields: readonly string[],
  tenant: string,
  store: Store,
  blobs: BlobStore,
): Promise<Record<string, unknown>> {
  const journaled: Record<string, unknown> = { ...out };
  const moved: string[] = [];
  const json: string[] = [];
  for (const field of fields) {
    const v = out[field];
    if (v === undefined) continue;
    // `result` is always JSON (journals written before other fields could move rely on it).
    const asJson = field === "result" || typeof v !== "string";
    const text = asJson ? JSON.stringify(v) : v;
    if (Buffer.byteLength(text) <= INLINE_MAX_BYTES) continue;
    const { sha256, size } = await putTenantBlob(store, blobs, tenant, text);
    journaled[field] = { $blob: sha256, size };
    moved.push(field);
    if (asJson && field !== "result") json.push(field);
  }
  if (moved.length > 0) journaled.$externalized = moved;
  if (json.length > 0) journaled.$json = json;
  return journaled;
}

/** True when externalize would move nothing: every listed field of `out` fits the journal inline. */
export function fitsInline(out: Record<string, unknown> | null, fields: readonly string[]): boolean {
  if (!out) return true;
  for (const field of fields) {
    const v = out[field];
    if (v === undefined) continue;
    const text = field === "result" || typeof v !== "string" ? JSON.stringify(v) : v;
    if (Buffer.byteLength(text) > INLINE_MAX_BYTES) return false;
  }
  return true;
}

/** Reverses externalize: reads the listed fields back from the blob store. */
export async function internalize(journaled: unknown, blobs: BlobStore): Promise<Record<string, unknown>> {
  const { $externalized, $json, ...out } = journaled as Record<string, unknown> & {
    $externalized?: string[];
    $json?: string[];
  };
  for (const field of $externalized ?? []) {
    const ref = out[field] as { $blob: string };
    const text = (await blobs.get(ref.$blob))?.toString("utf8");
    const asJson = field === "result" || ($json ?? []).includes(field);
    out[field] = asJson ? (text === undefined ? null : JSON.parse(text)) : (text ?? "");
  }
  return out;
}
