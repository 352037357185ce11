// One relay execution: the queue of events streamed to the client and the tool calls waiting for its answers.
import { randomBytes } from "node:crypto";
import { makeFailure } from "@mend/wire";
import type { RelayAnswer, RelayEvent } from "@mend/wire";
import type { ToolResult } from "./tool.ts";

interface Pending {
  tool: string;
  resolve(r: ToolResult): void;
}

/**
 * The service side of one client connection: `call` emits a tool_call and waits for `answer`.
 * @example const s = new RelaySession("local"); s.onEvent = write; await s.call("search", { q })
 */
export class RelaySession {
  readonly id = `rx_${randomBytes(12).toString("base64url")}`;
  readonly tenant: string;
  /** Receives every event to stream (set by the route before the script starts). */
  onEvent: (ev: RelayEvent) => void = () => undefined;
  #seq = 0;
  #closed: string | null = null;
  readonly #pending = new Map<number, Pending>();
  readonly #answered = new Set<number>();

  constructor(tenant: string) {
    this.tenant = tenant;
  }

  /** Relays one call to the client and resolves with its answer (or a failure if the client is gone). */
  call(tool: string, args: unknown): Promise<ToolResult> {
    if (this.#closed) return Promise.resolve(this.#gone(tool));
    const seq = ++this.#seq;
    const p = new Promise<ToolResult>((resolve) => this.#pending.set(seq, { tool, resolve }));
    this.onEvent({ type: "tool_call", seq, tool, args });
    return p;
  }

  /** "ok": delivered; "duplicate": answered before (a retried POST); "unknown": no such call. */
  answer(seq: number, a: RelayAnswer): "ok" | "duplicate" | "unknown" {
    const p = this.#pending.get(seq);
    if (!p) return this.#answered.has(seq) ? "duplicate" : "unknown";
    this.#pending.delete(seq);
    this.#answered.add(seq);
    p.resolve(
      a.ok
        ? { ok: true, value: a.value ?? null }
        : {
            ok: false,
            failure: makeFailure(
              "tool_failed",
              `client-hosted tool "${p.tool}" threw: ${a.error.message}`,
              false,
              {
                tool: p.tool,
                cause: { type: a.error.type ?? "Error", message: a.error.message },
              },
            ),
          },
    );
    return "ok";
  }

  /** Ends the session: calls still waiting fail as interrupted (the client went away). */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = reason;
    for (const [seq, p] of this.#pending) {
      this.#pending.delete(seq);
      p.resolve(this.#gone(p.tool));
    }
  }

  get closed(): boolean {
    return this.#closed !== null;
  }

  #gone(tool: string): ToolResult {
    return {
      ok: false,
      failure: makeFailure(
        "interrupted",
        `client-hosted tool "${tool}" cannot be called: ${this.#closed ?? "the client disconnected"}`,
        true,
        {
          tool,
          remedy: {
            action: "retry",
            hint: "re-run with the same runId and key: recorded tool calls are replayed",
          },
        },
      ),
    };
  }
}
