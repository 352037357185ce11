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

interface BlobRef {
  $blob: string;
  size: number;
}

const isBlobRef = (v: unknown): v is BlobRef =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as BlobRef).$blob === "string" &&
  Object.keys(v).length === 2;

/** Replaces large strings (stdout, stderr, a big result) by blob references. */
export async function externalize(
  out: StepOutput,
  tenant: string,
  store: Store,
  blobs: BlobStore,
): Promise<Record<string, unknown>> {
  const journaled: Record<string, unknown> = { ...out };
  for (const field of ["stdout", "stderr"] as const) {
    const v = out[field];
    if (typeof v === "string" && Buffer.byteLength(v) > INLINE_MAX_BYTES) {
      const { sha256, size } = await blobs.put(v);
      await store.addBlobRef(tenant, sha256, size);
      journaled[field] = { $blob: sha256, size } satisfies BlobRef;
    }
  }
  if (out.result !== undefined) {
    const text = JSON.stringify(out.result);
    if (text !== undefined && Buffer.byteLength(text) > INLINE_MAX_BYTES) {
      const { sha256, size } = await blobs.put(text);
      await store.addBlobRef(tenant, sha256, size);
      journaled.result = { $blob: sha256, size, json: true };
    }
  }
  return journaled;
}

/** Reverses externalize: reads referenced blobs back. */
export async function internalize(journaled: unknown, blobs: BlobStore): Promise<StepOutput> {
  const out = { ...(journaled as Record<string, unknown>) };
  for (const field of ["stdout", "stderr"]) {
    const v = out[field];
    if (isBlobRef(v)) out[field] = (await blobs.get(v.$blob))?.toString("utf8") ?? "";
  }
  const r = out.result as { $blob?: string; json?: boolean } | undefined;
  if (r && typeof r === "object" && typeof r.$blob === "string" && r.json === true) {
    const buf = await blobs.get(r.$blob);
    out.result = buf ? JSON.parse(buf.toString("utf8")) : null;
  }
  return out as StepOutput;
}
