// The messages between the host and a QuickJS worker: one run in, tool calls out and back, one done out.
import type { Failure } from "@mend/wire";
import type { CodeModeLanguage, CodeModeLimits } from "../engine.ts";

/** Host → worker: start one execution. */
export interface RunMessage {
  type: "run";
  id: number;
  code: string;
  language: CodeModeLanguage;
  tools: string[];
  limits: CodeModeLimits;
  seed: number;
  clockMs: number;
}

/** Host → worker: a tool call settled (`json` is the result's JSON text). */
export type SettleMessage =
  | { type: "settle"; id: number; callId: number; ok: true; json: string }
  | { type: "settle"; id: number; callId: number; ok: false; failure: Failure; fatal: boolean };

/** Worker → host: the guest called a tool. */
export interface CallMessage {
  type: "call";
  id: number;
  callId: number;
  tool: string;
  argsJson: string;
}

/** How one execution ended inside the worker. */
export type WorkerOutcome =
  { status: "succeeded"; resultJson: string } | { status: "failed"; failure: Failure };

/** Worker → host: the execution ended; `recycle` asks the host to replace this worker. */
export interface DoneMessage {
  type: "done";
  id: number;
  outcome: WorkerOutcome;
  logs: string[];
  logsTruncated: boolean;
  recycle: boolean;
  /** Why the worker should be replaced (for stats and debugging). */
  recycleReason?: string;
}

/** Worker → host: the wasm module is loaded. */
export interface ReadyMessage {
  type: "ready";
}

export type HostToWorker = RunMessage | SettleMessage;
export type WorkerToHost = ReadyMessage | CallMessage | DoneMessage;

/** What a worker is started with. */
export interface WorkerConfig {
  /** Hard cap of the worker's wasm memory, in MiB. */
  wasmMemoryMaxMb: number;
  /** A worker whose wasm memory grew beyond this after an execution is replaced, in MiB. */
  recycleAboveMb: number;
}
