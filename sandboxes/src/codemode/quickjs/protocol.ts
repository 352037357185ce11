// The messages between the host and a QuickJS worker: a worker holds many guests, the host sends it one slice at a time.
import type { Failure } from "@mend/wire";
import type { CodeModeLanguage, CodeModeLimits } from "../engine.ts";

/** Host → worker: create a guest and run it until it awaits a tool call or ends (one slice). */
export interface StartMessage {
  type: "start";
  id: number;
  code: string;
  language: CodeModeLanguage;
  tools: string[];
  limits: CodeModeLimits;
  seed: number;
  clockMs: number;
  /** Wall-clock budget left for the guest, in ms (time spent queued for a worker is not counted). */
  budgetMs: number;
}

/** One settled tool call (`json` is the result's JSON text). */
export type SettledCall =
  | { callId: number; ok: true; json: string }
  | { callId: number; ok: false; failure: Failure; fatal: boolean };

/** Host → worker: deliver settled tool calls to a parked guest and run it (one slice). */
export interface SettleMessage {
  type: "settle";
  id: number;
  calls: SettledCall[];
  budgetMs: number;
}

/** Host → worker: dispose a guest without running it again (timed out or cancelled while parked, migrated). */
export interface DropMessage {
  type: "drop";
  id: number;
}

/** One tool call of a guest. */
export interface GuestCall {
  callId: number;
  tool: string;
  argsJson: string;
}

/**
 * Worker → host: the guest called tools during a slice that is still running (a slice that computes on after
 * a call sends it within ~1 ms; the calls of a slice that parks or ends soon after ride on that message).
 */
export interface CallMessage {
  type: "call";
  id: number;
  calls: GuestCall[];
}

/** How one execution ended inside the worker. */
export type WorkerOutcome =
  { status: "succeeded"; resultJson: string } | { status: "failed"; failure: Failure };

/**
 * The guest must start over on another worker: the wasm memory its worker shares with other guests could
 * not grow though the guest was within its own limit. A host fault (the worker's capacity), not the guest's.
 */
export interface RerunOutcome {
  status: "rerun";
  reason: string;
}

/** What every end of a slice carries: console lines since the previous slice, memory figures. */
interface SliceReport {
  id: number;
  /** Tool calls the guest made in this slice not yet sent (the host starts them before it looks at the end). */
  calls?: GuestCall[];
  logs: string[];
  logsTruncated: boolean;
  /** The guest's heap as QuickJS measures it (live objects, strings, functions), in bytes. */
  memoryBytes: number;
  /** The worker's wasm memory (shared by its guests; it never shrinks), in bytes. */
  wasmBytes: number;
}

/** Worker → host: the slice ended with the guest awaiting tool calls; it holds no CPU until a settle. */
export interface ParkedMessage extends SliceReport {
  type: "parked";
}

/** Worker → host: the guest ended; its runtime is disposed. */
export interface DoneMessage extends SliceReport {
  type: "done";
  outcome: WorkerOutcome | RerunOutcome;
}

/**
 * Worker → host: the wasm module is unusable (an abort, a runtime that could not be disposed); every guest
 * of this worker is gone. `id` is the guest whose slice broke it, when one was running.
 */
export interface BrokenMessage {
  type: "broken";
  id?: number;
  reason: string;
}

/** Worker → host: the wasm module is loaded. */
export interface ReadyMessage {
  type: "ready";
}

export type HostToWorker = StartMessage | SettleMessage | DropMessage;
export type WorkerToHost = ReadyMessage | CallMessage | ParkedMessage | DoneMessage | BrokenMessage;

/** Index in the worker's control buffer: the id of a running guest the host wants stopped (0: none). */
export const CONTROL_ABORT = 0;

/** What a worker is started with. */
export interface WorkerConfig {
  /** Hard cap of the worker's wasm memory, in MiB. */
  wasmMemoryMaxMb: number;
  /** Int32Array over this buffer, written by the host: see CONTROL_ABORT. */
  control: SharedArrayBuffer;
}
