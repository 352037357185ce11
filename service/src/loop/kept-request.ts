// What the inspector shows of a model turn's request, kept without a file per turn: the invariant head
// (model, system prompt, tools offered) is one content-addressed blob shared by every run and turn that
// sends it, and each turn's messages are journaled in its LLM step's audit as a delta of the previous turn.
import type { LlmMessage, LlmTool } from "../llm/llm-provider.ts";
import type { BlobStore } from "../store/blob-store.ts";
import type { Store } from "../store/store.ts";

/** A blob's reference as the audit keeps it. */
export interface BlobRef {
  blob: string;
  size: number;
}

/**
 * `audit.request` of an LLM step: the head blob, and the messages as the first `keep` messages of the
 * request kept at step `base` (same run) followed by `added` (no base: `added` is every message).
 */
export interface KeptRequest {
  head: BlobRef;
  base?: string;
  keep?: number;
  added: LlmMessage[];
  /** Messages in the whole request. */
  messages: number;
}

/**
 * The head blob of each distinct (model, system, tools) per blob store: put once per process, not once per
 * turn (the tool lists are interned, prompt-interning.ts).
 */
const heads = new WeakMap<BlobStore, WeakMap<LlmTool[], Map<string, Map<string, Promise<BlobRef>>>>>();
/**
 * Tenants whose reference to a head blob this process has recorded, per store (bounded: cleared when full).
 * It cannot go stale: nothing deletes a `blobs` row or a blob's file (no retention of blobs exists; the
 * usage trigger on delete is for a future one). A retention that releases references must clear this set
 * and `heads` for the store it prunes, or later turns would point at a head nobody references.
 */
const referenced = new WeakMap<Store, Set<string>>();
const MAX_REFERENCED = 10_000;
/**
 * Heads remembered per blob store before they are forgotten all at once: system prompts are tenants' input,
 * so a flood of distinct prompts must not grow the process (a forgotten head is put again, same sha256).
 */
const MAX_HEADS = 1_024;
const headCount = new WeakMap<BlobStore, number>();

/** The request's invariant part as JSON, in the order of the request (`{"model","system","tools"}`). */
export function headJson(model: string, system: string, tools: LlmTool[]): string {
  return JSON.stringify({ model, system, tools });
}

function lazy<K extends object, V>(map: WeakMap<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}

async function headRef(
  blobs: BlobStore,
  store: Store,
  tenant: string,
  model: string,
  system: string,
  tools: LlmTool[],
): Promise<BlobRef> {
  // Keyed by the (interned) system string itself, whose hash V8 keeps: no ~6 KB key built per turn.
  const bySystem = lazy(
    lazy(heads, blobs, () => new WeakMap()),
    tools,
    () => new Map(),
  );
  let byPrompt = bySystem.get(system);
  if (!byPrompt) bySystem.set(system, (byPrompt = new Map()));
  const id = model;
  let ref = byPrompt.get(id);
  if (!ref) {
    const count = (headCount.get(blobs) ?? 0) + 1;
    if (count > MAX_HEADS) {
      heads.delete(blobs);
      headCount.set(blobs, 0);
      return headRef(blobs, store, tenant, model, system, tools);
    }
    headCount.set(blobs, count);
    ref = blobs.put(Buffer.from(headJson(model, system, tools))).then(({ sha256, size }) => ({
      blob: sha256,
      size,
    }));
    byPrompt.set(id, ref);
    // A failed put (a full disk) is tried again by the next turn, not remembered.
    ref.catch(() => byPrompt.delete(id));
  }
  const kept = await ref;
  const who = `${tenant}\0${kept.blob}`;
  const known = lazy(referenced, store, () => new Set<string>());
  if (!known.has(who)) {
    await store.addBlobRef(tenant, kept.blob, kept.size);
    if (known.size >= MAX_REFERENCED) known.clear();
    known.add(who);
  }
  return kept;
}

/** The messages of the last request kept for a conversation (the driver's array), and at which step. */
const previous = new WeakMap<LlmMessage[], { key: string; messages: LlmMessage[] }>();

/**
 * The audit of the request about to be sent at step `key`: the head blob, and the messages as a delta of the
 * previous turn this driver kept (messages are never changed in place — compaction replaces the object —
 * so the shared prefix is found by identity). Call `commit` once the step's end (with this audit) is written.
 * @example const k = await keepRequest(blobs, store, tenant, key, req); ...; k.commit()
 */
export async function keepRequest(
  blobs: BlobStore,
  store: Store,
  tenant: string,
  key: string,
  request: { model: string; system: string; tools: LlmTool[]; messages: LlmMessage[] },
): Promise<{ audit: KeptRequest; commit(): void }> {
  const head = await headRef(blobs, store, tenant, request.model, request.system, request.tools);
  const { messages } = request;
  const prev = previous.get(messages);
  let keep = 0;
  if (prev) {
    const limit = Math.min(prev.messages.length, messages.length);
    while (keep < limit && prev.messages[keep] === messages[keep]) keep++;
  }
  const audit: KeptRequest = prev
    ? { head, base: prev.key, keep, added: messages.slice(keep), messages: messages.length }
    : { head, added: messages.slice(), messages: messages.length };
  const snapshot = messages.slice();
  return { audit, commit: () => previous.set(messages, { key, messages: snapshot }) };
}

/** Whether an audit's request is in this format (older steps hold `{ blob, size }` of the whole request). */
export function isKeptRequest(v: unknown): v is KeptRequest {
  const r = v as Partial<KeptRequest> | null;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.head?.blob === "string" &&
    Array.isArray(r.added) &&
    (r.base === undefined || (typeof r.base === "string" && typeof r.keep === "number"))
  );
}

/**
 * The whole request of the step whose audit is `kept`, rebuilt from its head blob and the chain of deltas
 * (`auditOf` gives another step's `audit.request` by key); null when a link or the head is missing, or the
 * chain is longer than `maxHops`.
 * @example await rebuildRequest(step.audit.request, (k) => byKey.get(k)?.audit?.request, (sha) => blobs.get(sha))
 */
export async function rebuildRequest(
  kept: KeptRequest,
  auditOf: (key: string) => unknown,
  readBlob: (sha256: string) => Promise<Buffer | null>,
  maxHops = 100_000,
): Promise<{ model?: string; system?: string; tools?: LlmTool[]; messages: LlmMessage[] } | null> {
  const chain: KeptRequest[] = [kept];
  for (let k = chain[0]!; k.base !== undefined;) {
    const base = auditOf(k.base);
    if (!isKeptRequest(base) || chain.length > maxHops) return null;
    chain.push((k = base));
  }
  let messages: LlmMessage[] = [];
  for (let i = chain.length - 1; i >= 0; i--) {
    const k = chain[i]!;
    messages = [...messages.slice(0, k.keep ?? 0), ...k.added];
  }
  const raw = await readBlob(kept.head.blob);
  if (!raw) return null;
  try {
    const head = JSON.parse(raw.toString("utf8")) as { model?: string; system?: string; tools?: LlmTool[] };
    return { ...head, messages };
  } catch {
    return null;
  }
}
