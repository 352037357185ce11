// The contract between a QuickJS guest run and its worker: what the guest needs, what a slice returns.
import type { ExactAllocator } from "./exact-allocator.ts";
import type { GuestCall, RerunOutcome, WorkerOutcome } from "./protocol.ts";

/**
 * How a slice ended: the guest awaits tool calls (parked), or it is over (done: the worker sends the outcome,
 * then calls `drop()` to dispose the runtime).
 *
 * @example const end: SliceEnd = run.start(); if (end.kind === "done") post(end.outcome);
 */
export type SliceEnd =
  | { kind: "parked"; memoryBytes: number }
  | { kind: "done"; outcome: WorkerOutcome | RerunOutcome; memoryBytes: number };

/**
 * What a guest needs from its worker.
 *
 * @example const host: GuestHost = { call: send, poll: flush, abortRequested: isAborted, allocator };
 */
export interface GuestHost {
  /** Hands a tool call to the host (the result comes back with a later slice). */
  call(id: number, call: GuestCall): void;
  /** From the interrupt handler: the worker may send calls held back since the slice began computing on. */
  poll(now: number): void;
  /** Whether the host asked for this guest to stop (cancellation while it runs). */
  abortRequested(id: number): boolean;
  /** The worker's allocator accounting (a guest runtime's bytes, refused allocations). */
  readonly allocator: ExactAllocator;
}
