// The host's side of one QuickJS execution: where its guest lives, its time budget, its console, its end.
import type { Failure } from "@mend/wire";
import type { CodeModeLimits, CodeModeRequest } from "../engine.ts";
import type { ToolCallBroker } from "../tool-calls.ts";
import type { SettledCall, StartMessage, WorkerOutcome } from "./protocol.ts";
import type { WorkerSlot } from "./worker-slot.ts";

/** How an execution ended, as the engine turns it into a CodeModeOutcome. */
export interface TaskEnd {
  outcome: WorkerOutcome;
  logs: string[];
  logsTruncated: boolean;
}

/**
 * - queued: waiting to be placed on a worker; runnable: settled tool calls wait for its worker;
 * - running: a slice of it runs now; parked: it awaits tool calls and holds no CPU; done: it ended.
 */
export type TaskState = "queued" | "running" | "parked" | "runnable" | "done";

/**
 * One execution on the QuickJS scheduler. Its wall-clock budget (`timeoutMs`) is spent while its guest
 * runs or awaits tool calls, not while it waits for a worker (queued, runnable). A re-run (its worker was
 * lost to another guest's crash, or it moved off a worker a long slice of another tenant holds) gets a new
 * incarnation id, a fresh budget and an empty console, and replays its tool calls through the broker; the
 * lines it prints again are not streamed again (`onLog` sees each line once).
 *
 * @example const task = new GuestTask(1, request, limits, broker); scheduler.submit(task); const end = await task.ended;
 */
export class GuestTask {
  readonly request: CodeModeRequest;
  readonly limits: CodeModeLimits;
  readonly broker: ToolCallBroker;
  readonly tenant: string;
  readonly weight: number;
  /** Incarnation id: messages of an earlier incarnation (a lost worker) are ignored. */
  id: number;
  state: TaskState = "queued";
  slot: WorkerSlot<GuestTask> | undefined;
  /** Settled tool calls not yet delivered to the guest. */
  pending: SettledCall[] = [];
  logs: string[] = [];
  logsTruncated = false;
  /** The guest's heap at its last slice, in bytes. */
  memoryBytes = 0;
  /** What the scheduler counts this guest for in its worker, in bytes. */
  countedBytes = 0;
  /** Times the guest started over because its worker was lost. */
  reruns = 0;
  /** Times the guest moved off a worker busy with another tenant's long slice. */
  migrations = 0;
  /** While parked: when its budget runs out (performance.now() ms; the scheduler's watchdog checks). */
  parkedUntil = Number.POSITIVE_INFINITY;
  readonly ended: Promise<TaskEnd>;
  #resolve!: (end: TaskEnd) => void;
  #budgetLeftMs: number;
  #countingSince: number | undefined;
  /** Lines already given to `onLog`, over all incarnations. */
  #streamedLines = 0;

  constructor(id: number, request: CodeModeRequest, limits: CodeModeLimits, broker: ToolCallBroker) {
    this.id = id;
    this.request = request;
    this.limits = limits;
    this.broker = broker;
    this.tenant = request.tenant ?? "";
    this.weight = request.weight ?? 1;
    this.#budgetLeftMs = limits.timeoutMs;
    this.ended = new Promise<TaskEnd>((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** The message that creates this incarnation's guest on a worker. */
  startMessage(budgetMs: number): StartMessage {
    const { request, limits } = this;
    return {
      type: "start",
      id: this.id,
      code: request.code,
      language: request.language,
      tools: this.broker.toolNames,
      limits,
      seed: request.seed,
      clockMs: request.clockMs,
      budgetMs,
    };
  }

  /** Starts spending the budget (the guest runs or awaits tools). */
  startCounting(): void {
    this.#countingSince ??= performance.now();
  }

  /** Stops spending the budget (the guest waits for a worker, or ended). */
  stopCounting(): void {
    if (this.#countingSince === undefined) return;
    this.#budgetLeftMs -= performance.now() - this.#countingSince;
    this.#countingSince = undefined;
  }

  /** Budget left, in ms (negative when spent). */
  remainingMs(): number {
    const spending = this.#countingSince === undefined ? 0 : performance.now() - this.#countingSince;
    return this.#budgetLeftMs - spending;
  }

  addLogs(logs: string[], truncated: boolean): void {
    const from = this.logs.length;
    for (const line of logs) this.logs.push(line);
    this.logsTruncated ||= truncated;
    // A rerun starts the script over with the same seed, clock and (replayed) tool results, so its first
    // lines are those an earlier incarnation already streamed: only the lines past them are new.
    const first = Math.max(from, this.#streamedLines);
    this.#streamedLines = Math.max(this.#streamedLines, this.logs.length);
    const onLog = this.request.onLog;
    if (onLog && first < this.logs.length) {
      try {
        for (let i = first; i < this.logs.length; i++) onLog(this.logs[i]!);
      } catch {
        // Live output is best effort: the lines are in the outcome's logs either way.
      }
    }
  }

  /** Ends the execution with `outcome` (the first call wins). */
  finish(outcome: WorkerOutcome): void {
    if (this.state === "done") return;
    this.state = "done";
    this.stopCounting();
    this.#resolve({ outcome, logs: this.logs, logsTruncated: this.logsTruncated });
  }

  /** Ends the execution with a failure. */
  fail(failure: Failure): void {
    this.finish({ status: "failed", failure });
  }

  /** Prepares a new incarnation that starts the script over (tool calls replayed, not re-invoked). */
  restart(id: number): void {
    this.id = id;
    this.state = "queued";
    this.slot = undefined;
    this.pending = [];
    this.logs = [];
    this.logsTruncated = false;
    this.memoryBytes = 0;
    this.#countingSince = undefined;
    this.#budgetLeftMs = this.limits.timeoutMs;
    this.broker.rewind();
  }
}
