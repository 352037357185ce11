// The code-mode ToolCallJournal backed by the store: tool calls of one step, replayed after a crash,
// and the interpreter snapshot at the latest call (addressed by its sha256), resumed after a crash.
import { QuotaExceededError } from "../store/store-errors.ts";
import { quotaFailure } from "./tenant-quotas.ts";
import { createHash } from "node:crypto";
import { CODEMODE_ENGINES, type CodeModeEngineName } from "@mend/wire";
import type { InterpreterSnapshot, ToolCallJournal, ToolCallRecord } from "@mend/sandboxes";
import type { BlobStore } from "../store/blob-store.ts";
import type { Store } from "../store/store.ts";
import type { ToolCallRow } from "../store/records.ts";

/**
 * The checkpoint key of a step's latest snapshot. It starts with a control character, which the API's
 * checkpoint keys refuse: no caller can read or overwrite it (a forged snapshot would reach native code).
 * U+0001, not U+0000: PostgreSQL text cannot hold NUL.
 */
export const snapshotCheckpointKey = (stepSeq: number): string => `\u0001codemode-snapshot/${stepSeq}`;

/** Deferred records held in memory until the step's end, at most (beyond, calls are written at once), in bytes. */
const MAX_DEFERRED_BYTES = 256 * 1024;

/**
 * Deferred records held until the step's end, at most (beyond, calls are written at once). Why a count
 * beside the bytes: tiny records fit 256 KiB by thousands, and the end transaction writes them one
 * statement each while it holds the tenant's usage row (PostgreSQL) or the event loop (SQLite); a script's
 * 10,000 cached calls would make that one transaction seconds long. The saving is per commit, which the
 * first few calls of an execution already take.
 */
export const MAX_DEFERRED_CALLS = 64;

/** Snapshots up to this size travel inside their pointer row; larger ones go to the blob store, in bytes. */
export const INLINE_SNAPSHOT_BYTES = 64 * 1024;

interface SnapshotPointer {
  seq: number;
  engine: CodeModeEngineName;
  /** The snapshot's address: what its bytes must hash to, wherever they are kept. */
  sha256: string;
  size: number;
  /** The bytes themselves (base64) when the snapshot is small: one row write per call, no file. */
  inline?: string;
}

const isPointer = (v: unknown): v is SnapshotPointer => {
  const p = v as Partial<SnapshotPointer> | null;
  return (
    typeof p?.seq === "number" &&
    typeof p.sha256 === "string" &&
    typeof p.size === "number" &&
    (CODEMODE_ENGINES as readonly string[]).includes(String(p.engine))
  );
};

/**
 * Journal of the tool calls inside step `stepSeq` of run `runId`, and the engine's snapshot at each
 * call: a pointer to the latest (its sha256) in a reserved checkpoint, the bytes inside it when small,
 * in the content-addressed blob store otherwise (needs `blobs`; without, large snapshots are not kept).
 * A call is recorded only once the snapshot taken at it is written. With `deferDeterministic`, a
 * succeeded call of a deterministic tool is held (up to MAX_DEFERRED_BYTES) for the step's end to write in
 * its transaction (`takeDeferred`): a crash before the end loses it, and the next attempt calls the tool
 * again, which answers the same; every other call is written before the guest sees its answer.
 * @example engine.execute({ ..., journal: new StoreToolJournal(store, runId, 3, undefined, blobs) })
 */
export class StoreToolJournal implements ToolCallJournal {
  readonly #store: Store;
  readonly #runId: string;
  readonly #stepSeq: number;
  readonly #onRecord: (() => void) | undefined;
  readonly #blobs: BlobStore | undefined;
  #pendingSnapshot: Promise<void> = Promise.resolve();

  /** The step's first attempt: no earlier attempt can have recorded a call or a snapshot (no read needed). */
  readonly #fresh: boolean;

  constructor(
    store: Store,
    runId: string,
    stepSeq: number,
    onRecord?: () => void,
    blobs?: BlobStore,
    opts: { firstAttempt?: boolean; deferDeterministic?: boolean } = {},
  ) {
    this.#fresh = opts.firstAttempt === true;
    this.#defer = opts.deferDeterministic === true;
    this.#store = store;
    this.#runId = runId;
    this.#stepSeq = stepSeq;
    this.#onRecord = onRecord;
    this.#blobs = blobs;
  }

  async recorded(): Promise<ToolCallRecord[]> {
    if (this.#fresh) return [];
    const rows = await this.#store.listToolCalls(this.#runId, this.#stepSeq);
    return rows.map((r) => ({
      seq: r.seq,
      tool: r.tool,
      argsJson: r.argsJson,
      occurrence: r.occurrence,
      status: r.status,
      output: r.output,
      ...(r.failure ? { failure: r.failure } : {}),
      ms: r.ms,
      cached: r.cached,
    }));
  }

  async record(call: ToolCallRecord): Promise<void> {
    // A call cut short (shutdown, a vanished relay client) did not complete: journaled, it would replay as
    // a failure forever; unjournaled, the next attempt of the step makes it again with the same key.
    if (call.status === "failed" && call.failure?.kind === "interrupted" && call.failure.retryable) return;
    // A deterministic tool's answer is journaled with the step's end (one transaction for the whole step):
    // lost with a crash before it, the call is made again and answers the same.
    if (
      this.#defer &&
      call.deterministic === true &&
      call.status === "succeeded" &&
      this.#deferredBytes < MAX_DEFERRED_BYTES &&
      this.#deferred.length < MAX_DEFERRED_CALLS
    ) {
      const row = this.#row(call);
      this.#deferredBytes += row.argsJson.length + (JSON.stringify(row.output)?.length ?? 0);
      this.#deferred.push(row);
      return;
    }
    // The snapshot at this call first: after a crash, a recorded call always has its snapshot.
    await this.#pendingSnapshot;
    await this.#write(this.#row(call));
    this.#onRecord?.();
  }

  /**
   * The records deferred so far (deterministic calls), handed over to be written with the step's end
   * (StepEnding.toolCalls); later ones are deferred anew.
   */
  takeDeferred(): ToolCallRow[] {
    this.#deferredBytes = 0;
    return this.#deferred.splice(0);
  }

  readonly #deferred: ToolCallRow[] = [];
  #deferredBytes = 0;
  /** Deterministic calls are deferred (deferDeterministic): else every call is written as it settles. */
  readonly #defer: boolean;

  #row(call: ToolCallRecord): ToolCallRow {
    return {
      runId: this.#runId,
      stepSeq: this.#stepSeq,
      seq: call.seq,
      tool: call.tool,
      argsJson: call.argsJson,
      occurrence: call.occurrence,
      status: call.status,
      output: call.output ?? null,
      failure: call.failure ?? null,
      ms: call.ms,
      cached: call.cached ?? false,
    };
  }

  async #write(row: ToolCallRow): Promise<void> {
    try {
      await this.#store.recordToolCall(row);
    } catch (err) {
      // Past the tenant's journal quota: the execution stops with that failure (not resumable as is).
      if (err instanceof QuotaExceededError)
        throw Object.assign(new Error(err.message), { failure: quotaFailure(err.quota) });
      throw err;
    }
  }

  async saveSnapshot(snapshot: InterpreterSnapshot): Promise<void> {
    // A resumed snapshot counts every call before it as recorded: the deferred ones are written first.
    for (const row of this.takeDeferred()) await this.#write(row);
    const blobs = this.#blobs;
    const data = Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.byteLength);
    if (data.byteLength > INLINE_SNAPSHOT_BYTES && blobs === undefined) return;
    const write = (async () => {
      const base = { seq: snapshot.seq, engine: snapshot.engine, size: data.byteLength };
      let pointer: SnapshotPointer;
      if (data.byteLength <= INLINE_SNAPSHOT_BYTES) {
        const sha256 = createHash("sha256").update(data).digest("hex");
        pointer = { ...base, sha256, inline: data.toString("base64") };
      } else {
        pointer = { ...base, sha256: (await blobs!.put(data)).sha256 };
      }
      await this.#store.putCheckpoint(this.#runId, snapshotCheckpointKey(this.#stepSeq), pointer);
    })();
    this.#pendingSnapshot = write.catch(() => {});
    await write;
  }

  async latestSnapshot(): Promise<InterpreterSnapshot | undefined> {
    if (this.#fresh) return undefined;
    const pointer = (await this.#store.getCheckpoint(this.#runId, snapshotCheckpointKey(this.#stepSeq)))
      ?.value;
    if (!isPointer(pointer)) return undefined;
    const data =
      typeof pointer.inline === "string"
        ? Buffer.from(pointer.inline, "base64")
        : ((await this.#blobs?.get(pointer.sha256)) ?? null);
    // The address is the content's hash: a file that does not hash to it is not this snapshot.
    if (data === null || createHash("sha256").update(data).digest("hex") !== pointer.sha256) return undefined;
    return { seq: pointer.seq, engine: pointer.engine, data };
  }
}
