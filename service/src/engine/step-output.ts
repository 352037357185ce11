// What a step's journal entry keeps as output, and how large values move to the blob store and back.
import type { ExecutionResponse } from "@mend/wire";
import type { BlobStore } from "../store/blob-store.ts";
import type { Store } from "../store/store.ts";

/** Strings longer than this go to the blob store; the journal keeps `{ $blob, size }`. */
export const INLINE_MAX_BYTES = 4 * 1024;

/** The part of an execution response that is journaled (ids and replay flags are derived on read). */
export type StepOutput = Omit<
  ExecutionResponse,
  "id" | "runId" | "stepSeq" | "key" | "status" | "failure" | "attempts" | "replayed"
>;

const EXTERNAL_FIELDS = ["stdout", "stderr", "result"] as const;
type ExternalField = (typeof EXTERNAL_FIELDS)[number];

/**
 * Replaces large fields (stdout, stderr, a big result) by `{ $blob, size }` references. Which fields were
 * moved is listed out of band in `$externalized`, so a guest value that merely looks like a reference is
 * never mistaken for one.
 */
export async function externalize(
  out: StepOutput,
  tenant: string,
  store: Store,
  blobs: BlobStore,
): Promise<Record<string, unknown>> {
  const journaled: Record<string, unknown> = { ...out };
  const moved: ExternalField[] = [];
  for (const field of EXTERNAL_FIELDS) {
    const v = out[field];
    if (v === undefined) continue;
    const text = field === "result" ? JSON.stringify(v) : typeof v === "string" ? v : undefined;
    if (text === undefined || Buffer.byteLength(text) <= INLINE_MAX_BYTES) continue;
    const { sha256, size } = await blobs.put(text);
    await store.addBlobRef(tenant, sha256, size);
    journaled[field] = { $blob: sha256, size };
    moved.push(field);
  }
  if (moved.length > 0) journaled.$externalized = moved;
  return journaled;
}

/** Reverses externalize: reads the listed fields back from the blob store. */
export async function internalize(journaled: unknown, blobs: BlobStore): Promise<StepOutput> {
  const { $externalized, ...out } = journaled as Record<string, unknown> & {
    $externalized?: ExternalField[];
  };
  for (const field of $externalized ?? []) {
    const ref = out[field] as { $blob: string };
    const text = (await blobs.get(ref.$blob))?.toString("utf8");
    out[field] = field === "result" ? (text === undefined ? null : JSON.parse(text)) : (text ?? "");
  }
  return out as StepOutput;
}
