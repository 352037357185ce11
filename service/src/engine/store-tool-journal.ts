// The code-mode ToolCallJournal backed by the store: tool calls of one step, replayed after a crash.
import type { ToolCallJournal, ToolCallRecord } from "@mend/sandboxes";
import type { Store } from "../store/store.ts";

/**
 * Journal of the tool calls inside step `stepSeq` of run `runId`.
 * @example engine.execute({ ..., journal: new StoreToolJournal(store, runId, 3) })
 */
export class StoreToolJournal implements ToolCallJournal {
  readonly #store: Store;
  readonly #runId: string;
  readonly #stepSeq: number;
  readonly #onRecord: (() => void) | undefined;

  constructor(store: Store, runId: string, stepSeq: number, onRecord?: () => void) {
    this.#store = store;
    this.#runId = runId;
    this.#stepSeq = stepSeq;
    this.#onRecord = onRecord;
  }

  async recorded(): Promise<ToolCallRecord[]> {
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
    await this.#store.recordToolCall({
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
    });
    this.#onRecord?.();
  }
}
