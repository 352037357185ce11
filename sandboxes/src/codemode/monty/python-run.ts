// One Python execution on the host side: its segments on child processes, its tool calls, snapshots and deadline.
import { makeFailure, type Failure } from "@mend/wire";
import type { CodeModeLimits, CodeModeRequest } from "../engine.ts";
import { crashFailure, outputLimitFailure, timeoutFailure } from "../guest-failures.ts";
import type { ToolCallBroker } from "../tool-calls.ts";
import type { MontyChild, SegmentListener } from "./child-pool.ts";
import { exceptionTypeOf, guestFailure, raisedKey } from "./monty-failures.ts";
import { packSnapshot, type SnapshotHeader } from "./monty-snapshot.ts";
import type {
  CallMessage,
  DoneMessage,
  GuestSetup,
  GuestState,
  HostToChild,
  OverflowMessage,
  Settle,
} from "./protocol.ts";

/** How long a script may go on after its print output went over the cap before its child is killed, in ms. */
const OVERFLOW_GRACE_MS = 50;

/** A unit of work for a child: the script's start, or its continuation after a tool call. */
export type Segment = { kind: "start" } | { kind: "continue"; settle: Settle };

/** What the engine's scheduler does for a run. */
export interface RunScheduler {
  /** Queues a segment; the scheduler picks the child (the one holding the run, or any if it can move). */
  submit(run: PythonRun, segment: Segment): void;
  /** Forgets the run: queued segments dropped, its paused state freed in the child holding it. */
  forget(run: PythonRun): void;
  /** Kills a child running a segment past its deadline. */
  kill(child: MontyChild, reason: string): void;
  /** Sends a segment to a child (the scheduler chose it). */
  send(child: MontyChild, run: PythonRun, message: HostToChild, listener: SegmentListener): void;
}

/** How a run ended: a result, a failure, or a saved snapshot the child could not load (replay instead). */
export type RunEnd =
  | { status: "succeeded"; resultJson: string }
  | { status: "failed"; failure: Failure }
  | { status: "snapshot_rejected"; reason: string };

/** A durable snapshot accepted for this execution: continue at call `header.seq`. */
export interface SavedRun {
  header: SnapshotHeader;
  state: Uint8Array;
}

export interface RunContext {
  id: number;
  request: CodeModeRequest;
  limits: CodeModeLimits;
  broker: ToolCallBroker;
  source: string;
  setup: GuestSetup;
  codeSha256: string;
  bindingsSha256: string;
  scheduler: RunScheduler;
  /** Extra time after timeoutMs before a child still running the segment is killed, in ms. */
  graceMs: number;
}

/**
 * Drives one script: start (or load from a durable snapshot), then for each tool call the broker
 * (policy, schema, journal replay, invoke), a snapshot to the journal, and a continuation — on the
 * child holding the paused interpreter, or on any child from the last dump when that one is busy or
 * gone. The wall clock (tool waits included) is enforced here whatever the child does.
 *
 * @example const end = await new PythonRun(ctx).run(); // { status: "succeeded", resultJson: "42" }
 */
export class PythonRun implements SegmentListener {
  readonly id: number;
  readonly ctx: RunContext;
  owner: MontyChild | undefined;
  /** The latest dump of the paused interpreter (moves it to another child, or resumes a later attempt). */
  state: Uint8Array | undefined;
  guest: GuestState | undefined;
  logs: string[] = [];
  logsTruncated = false;
  resumedFrom: number | undefined;
  #running: MontyChild | undefined;
  #loadingSaved = false;
  readonly #raised = new Map<string, Failure>();
  #finished = false;
  #timedOut = false;
  #timer: NodeJS.Timeout | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #resolve: (end: RunEnd) => void = () => {};
  #lastSnapshot: Promise<void> = Promise.resolve();

  constructor(ctx: RunContext) {
    this.id = ctx.id;
    this.ctx = ctx;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Runs the script to its end; `saved` continues it from an earlier attempt's snapshot. */
  run(saved?: SavedRun): Promise<RunEnd> {
    const { request } = this.ctx;
    const done = new Promise<RunEnd>((resolve) => (this.#resolve = resolve));
    if (request.signal?.aborted === true) {
      this.#end({ status: "failed", failure: interrupted() });
      return done;
    }
    request.signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (saved === undefined) {
      this.ctx.scheduler.submit(this, { kind: "start" });
      return done;
    }
    this.state = saved.state;
    this.guest = saved.header.guest;
    this.logs = [...saved.header.logs];
    this.resumedFrom = saved.header.seq;
    this.#loadingSaved = true;
    this.#startClock();
    this.ctx.broker.restore(saved.header.seq - 1);
    // The call it paused at: the broker replays it from the journal if it was recorded, else makes it.
    void this.#callTool(saved.header.tool, saved.header.argsJson);
    return done;
  }

  /** The message that runs `segment` on `child`: a start, a resume where the state lives, or a load. */
  messageFor(child: MontyChild, segment: Segment): HostToChild {
    if (segment.kind === "start") {
      return { type: "start", id: this.id, source: this.ctx.source, setup: this.ctx.setup };
    }
    if (child === this.owner) return { type: "resume", id: this.id, settle: segment.settle };
    return {
      type: "load",
      id: this.id,
      state: this.state!,
      guest: this.guest!,
      setup: this.ctx.setup,
      settle: segment.settle,
    };
  }

  /** The scheduler sent a segment of this run to `child`. */
  began(child: MontyChild): void {
    this.#running = child;
    this.owner = undefined;
    this.#startClock();
  }

  /** The wall clock starts when the script first gets a child (waiting for one is not the script's time). */
  #startClock(): void {
    this.#timer ??= setTimeout(() => this.#onDeadline(), this.ctx.limits.timeoutMs);
  }

  /** The child holding this run's paused state died or was replaced. */
  lostOwner(): void {
    this.owner = undefined;
  }

  message(message: CallMessage | DoneMessage): void {
    const child = this.#running;
    this.#running = undefined;
    clearTimeout(this.#graceTimer);
    if (this.#finished) return;
    this.logs.push(...message.logs);
    this.#stream(message.logs);
    if (message.type === "done") return this.#onDone(message);
    this.#loadingSaved = false;
    this.owner = child;
    this.guest = message.guest;
    this.state = message.state;
    this.#saveSnapshot(message);
    void this.#callTool(message.tool, message.argsJson);
  }

  overflow(message: OverflowMessage): void {
    this.logs.push(...message.logs);
    this.#stream(message.logs);
    this.logsTruncated = true;
    const child = this.#running;
    // The script caught the print error and runs on: stop it, as the JavaScript engines do.
    const stop = setTimeout(() => {
      if (child !== undefined && this.#running === child)
        this.ctx.scheduler.kill(child, "print output over its cap");
    }, OVERFLOW_GRACE_MS);
    stop.unref();
  }

  /** Hands a segment's print lines (up to a tool call or the end) to the live listener, if any. */
  #stream(lines: string[]): void {
    const onLog = this.ctx.request.onLog;
    if (!onLog) return;
    try {
      for (const line of lines) onLog(line);
    } catch {
      // Live output is best effort: the lines are in the outcome's logs either way.
    }
  }

  fault(reason: string): void {
    this.#running = undefined;
    clearTimeout(this.#graceTimer);
    if (this.#finished) return;
    const { limits } = this.ctx;
    if (this.logsTruncated)
      return this.#end({ status: "failed", failure: outputLimitFailure("logs", limits) });
    if (this.#timedOut) {
      const detail = " (the sandbox was stopped from outside: the script was stuck inside a long operation)";
      return this.#end({ status: "failed", failure: timeoutFailure(limits, undefined, detail) });
    }
    this.#end({
      status: "failed",
      failure: crashFailure(limits, `the Python worker process died: ${reason}`),
    });
  }

  #onDone(message: DoneMessage): void {
    const { limits } = this.ctx;
    if (message.logsTruncated) this.logsTruncated = true;
    if (this.logsTruncated)
      return this.#end({ status: "failed", failure: outputLimitFailure("logs", limits) });
    if (message.end.status === "succeeded") {
      return this.#end({ status: "succeeded", resultJson: message.end.resultJson });
    }
    const error = message.end.error;
    if (this.#loadingSaved && error.kind === "host") {
      return this.#end({ status: "snapshot_rejected", reason: error.message });
    }
    this.#end({ status: "failed", failure: guestFailure(error, limits, this.#raised) });
  }

  #saveSnapshot(message: CallMessage): void {
    const journal = this.ctx.request.journal;
    if (message.state === undefined || journal?.saveSnapshot === undefined) return;
    const header: SnapshotHeader = {
      montyVersion: this.owner?.montyVersion ?? "unknown",
      codeSha256: this.ctx.codeSha256,
      bindingsSha256: this.ctx.bindingsSha256,
      seq: this.ctx.broker.issued + 1,
      tool: message.tool,
      argsJson: message.argsJson,
      guest: message.guest,
      logs: this.logs,
    };
    const data = packSnapshot(header, message.state);
    // Saved before the call is made (the journal records the call only once this save is durable);
    // calls are sequential, so saves never overlap. A failed save only means a resume replays more.
    const previous = this.#lastSnapshot;
    const saving = journal.saveSnapshot({ seq: header.seq, engine: "monty", data }).catch(() => {});
    this.#lastSnapshot = Promise.all([previous, saving]).then(() => {});
  }

  async #callTool(tool: string, argsJson: string): Promise<void> {
    const { broker } = this.ctx;
    const settled = await broker.call(tool, argsJson);
    if (this.#finished) return;
    if (!settled.ok && settled.fatal) {
      return this.#end({ status: "failed", failure: broker.fatalFailure ?? settled.failure });
    }
    let settle: Settle;
    if (settled.ok) settle = { ok: true, json: settled.valueJson };
    else {
      const type = exceptionTypeOf(settled.failure);
      const message = `${settled.failure.kind}: ${settled.failure.message} (tool call ${settled.seq})`;
      this.#raised.set(raisedKey(type, message), settled.failure);
      settle = { ok: false, type, message };
    }
    this.ctx.scheduler.submit(this, { kind: "continue", settle });
  }

  #onDeadline(): void {
    if (this.#finished) return;
    this.#timedOut = true;
    const child = this.#running;
    if (child === undefined) {
      // Waiting for a tool or for a child: the limit counts tool waits too.
      return this.#end({ status: "failed", failure: timeoutFailure(this.ctx.limits) });
    }
    // Monty stops itself at the same limit; the kill is for a script stuck inside one long operation.
    this.#graceTimer = setTimeout(() => {
      if (this.#running === child) this.ctx.scheduler.kill(child, "timeout");
    }, this.ctx.graceMs);
  }

  readonly #onAbort = (): void => {
    if (this.#finished) return;
    const child = this.#running;
    this.#end({ status: "failed", failure: interrupted() });
    if (child !== undefined) this.ctx.scheduler.kill(child, "cancelled");
  };

  #end(end: RunEnd): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#graceTimer);
    this.ctx.request.signal?.removeEventListener("abort", this.#onAbort);
    this.ctx.scheduler.forget(this);
    // The outcome is read once the last snapshot write settled (so an attempt's writes never trail it).
    void this.#lastSnapshot.then(() => this.#resolve(end));
  }
}

function interrupted(): Failure {
  return makeFailure("interrupted", "The execution was cancelled before it finished.", true);
}
