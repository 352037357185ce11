// The messages between the host and a Monty child process: segments in, tool calls and ends out.
import type { ModuleState } from "./mend-modules.ts";
import type { NamespaceSpec } from "./python-names.ts";

/** What the child applies to one execution (derived from CodeModeLimits by the engine). */
export interface ChildLimits {
  maxMemoryBytes: number;
  maxDurationSecs: number;
  maxRecursionDepth: number;
  maxLogBytes: number;
  maxResultBytes: number;
}

/** The bindings of one execution: namespaces of `tools`, Mend modules, the determinism inputs. */
export interface GuestSetup {
  namespaces: NamespaceSpec[];
  callByName: boolean;
  /** Mend modules the script imports (random, time). */
  uses: string[];
  limits: ChildLimits;
  seed: number;
  clockMs: number;
  /** Send the interpreter's state (Monty dump) with each tool call. */
  dump: boolean;
  /** A dump larger than this is not sent (the call goes on without a snapshot), in bytes. */
  maxSnapshotBytes: number;
}

/** The guest's state outside Monty's heap, carried with every snapshot. */
export interface GuestState {
  modules: ModuleState;
  /** Log bytes kept so far and whether the cap was reached. */
  logBytes: number;
  logsTruncated: boolean;
  /** Text printed since the last newline (not yet a log line). */
  partial: string;
}

/** How a tool call settled, as the guest sees it: a JSON result, or an exception to raise. */
export type Settle = { ok: true; json: string } | { ok: false; type: string; message: string };

/** Host → child: start a script. */
export interface StartMessage {
  type: "start";
  id: number;
  source: string;
  setup: GuestSetup;
}

/** Host → child: continue a script paused in this child at a tool call. */
export interface ResumeMessage {
  type: "resume";
  id: number;
  settle: Settle;
}

/** Host → child: continue a script from its dumped state (another child held it, or an earlier attempt did). */
export interface LoadMessage {
  type: "load";
  id: number;
  state: Uint8Array;
  guest: GuestState;
  setup: GuestSetup;
  settle: Settle;
}

/** Host → child: forget a paused script (it timed out, was cancelled, or moved to another child). */
export interface DropMessage {
  type: "drop";
  id: number;
}

export type HostToChild = StartMessage | ResumeMessage | LoadMessage | DropMessage;

/** One traceback frame of the user's script (1-based lines and columns). */
export interface GuestFrame {
  line: number;
  column: number;
  functionName?: string;
  sourceLine?: string;
}

/** How a script failed inside the child, before the host maps it to a FAILURES.md kind. */
export type GuestError =
  | { kind: "syntax"; message: string; line?: number; column?: number }
  | { kind: "unsupported"; message: string; line?: number; column?: number }
  | { kind: "exception"; type: string; message: string; frames: GuestFrame[]; traceback: string }
  | { kind: "result"; message: string; tooBig: boolean; bytes?: number }
  | { kind: "host"; message: string };

export type GuestEnd = { status: "succeeded"; resultJson: string } | { status: "failed"; error: GuestError };

/** Child → host: the script called a tool and is paused until a `resume` (or `load`). */
export interface CallMessage {
  type: "call";
  id: number;
  tool: string;
  argsJson: string;
  /** Monty's dump of the paused interpreter, when the setup asks for it and it fits. */
  state?: Uint8Array;
  guest: GuestState;
  /** Log lines completed since the previous message of this execution. */
  logs: string[];
  rssMb: number;
}

/** Child → host: the script ended. */
export interface DoneMessage {
  type: "done";
  id: number;
  end: GuestEnd;
  logs: string[];
  logsTruncated: boolean;
  rssMb: number;
}

/**
 * Child → host: the script's print output went over its cap during a segment (the lines kept so far
 * come along). Printing more raises in the script; the host stops it if it keeps running.
 */
export interface OverflowMessage {
  type: "overflow";
  id: number;
  logs: string[];
}

/** Child → host: the native module is loaded. */
export interface ReadyMessage {
  type: "ready";
  montyVersion: string;
}

export type ChildToHost = ReadyMessage | CallMessage | DoneMessage | OverflowMessage;
