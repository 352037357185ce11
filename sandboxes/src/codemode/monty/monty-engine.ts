// The Python code-mode engine: scripts on pydantic's Monty interpreter, in crash-isolated child processes.
import { availableParallelism } from "node:os";
import { makeFailure, type Failure } from "@mend/wire";
import type { CodeModeEngine, CodeModeLimits, CodeModeOutcome, CodeModeRequest } from "../engine.ts";
import { ToolCallBroker } from "../tool-calls.ts";
import { ChildPool, type MontyChild, type SegmentListener } from "./child-pool.ts";
import { recursionDepthFor } from "./monty-failures.ts";
import { sha256, unpackSnapshot } from "./monty-snapshot.ts";
import type { GuestSetup, HostToChild } from "./protocol.ts";
import { buildNamespaces } from "./python-names.ts";
import { PythonRun, type RunEnd, type RunScheduler, type SavedRun, type Segment } from "./python-run.ts";
import { preparePython } from "./python-source.ts";

/** Options of the Monty engine; every field has a default. */
export interface MontyEngineOptions {
  /** Child processes (each runs one segment at a time and holds any number of paused scripts). Default: 2. */
  workers?: number;
  /** V8 heap of each child's interpreter thread, in MiB. Default 256. */
  childHeapMb?: number;
  /** Native stack of each child's interpreter thread, in MiB: room for Monty's native recursion. Default 256. */
  childStackMb?: number;
  /** A child whose resident memory grew past this is replaced once idle, in MiB. Default 512. */
  recycleAboveMb?: number;
  /** Extra time after timeoutMs before a child still running the script is killed, in ms. Default 250. */
  killGraceMs?: number;
  /** Dumps larger than this are neither journaled nor used to move a script between children. Default 16 MiB. */
  maxSnapshotBytes?: number;
  /** Dump the interpreter at every tool call (durable snapshots, moving between children). Default true. */
  snapshots?: boolean;
}

interface Queued {
  run: PythonRun;
  segment: Segment;
}

/**
 * Runs Python code-mode scripts on @pydantic/monty 0.0.18 behind the CodeModeEngine interface.
 * Tools are `tools.<name>(key=value)` (dotted names as attributes, Python keywords suffixed with
 * `_`, `tools.call("exact.name", ...)` for any); each call pauses the interpreter, whose state is
 * dumped and journaled (`journal.saveSnapshot`) so that a later attempt resumes from it instead of
 * re-running the script. Calls are sequential: the binding has no external futures, so
 * `asyncio.gather` runs its coroutines one after another.
 *
 * The interpreter is native code: it runs in child processes (a crash ends a child, never the
 * service); a paused script holds no child capacity, only its dump and, until it moves, the child's
 * memory. Limits: memoryMb → Monty's heap limit, timeoutMs → wall clock (tool waits included,
 * enforced by Monty and by killing the child), stackKb → recursion depth (2 frames per KiB).
 *
 * @example
 * const engine = new MontyEngine({ workers: 2 });
 * const outcome = await engine.execute({ code: "6 * 7", language: "python", tools: [], limits, seed: 1, clockMs: Date.now(), invokeTool });
 * await engine.dispose();
 */
export class MontyEngine implements CodeModeEngine {
  readonly name = "monty" as const;
  readonly #pool: ChildPool;
  readonly #graceMs: number;
  readonly #maxSnapshotBytes: number;
  readonly #snapshots: boolean;
  readonly #runs = new Map<number, PythonRun>();
  readonly #queue: Queued[] = [];
  readonly #scheduler: RunScheduler;
  #seq = 0;
  #disposed = false;

  constructor(options: MontyEngineOptions = {}) {
    this.#graceMs = options.killGraceMs ?? 250;
    this.#maxSnapshotBytes = options.maxSnapshotBytes ?? 16 * 1024 * 1024;
    this.#snapshots = options.snapshots ?? true;
    this.#pool = new ChildPool({
      size: Math.max(1, options.workers ?? Math.min(2, availableParallelism())),
      heapMb: options.childHeapMb ?? 256,
      stackMb: options.childStackMb ?? 256,
      recycleAboveMb: options.recycleAboveMb ?? 512,
      onIdle: () => this.#dispatch(),
      onLost: (_child, held) => {
        for (const id of held) this.#runs.get(id)?.lostOwner();
        this.#dispatch();
      },
    });
    this.#scheduler = {
      submit: (run, segment) => {
        this.#queue.push({ run, segment });
        this.#dispatch();
      },
      forget: (run) => this.#forget(run),
      kill: (child, reason) => this.#pool.kill(child, reason),
      send: (child, run, message, listener) => this.#send(child, run, message, listener),
    };
  }

  /** Starts the child processes now (executions start them on first use otherwise). */
  async ready(): Promise<void> {
    await this.#pool.warm();
  }

  /** Pool counters: children alive, running a segment, paused scripts held, children replaced. */
  stats(): { children: number; running: number; held: number; replaced: number; queued: number } {
    return { ...this.#pool.stats(), queued: this.#queue.length };
  }

  async execute(request: CodeModeRequest): Promise<CodeModeOutcome> {
    if (this.#disposed) throw new Error("MontyEngine.execute called after dispose()");
    const started = performance.now();
    if (request.language !== "python") {
      return fail(
        makeFailure(
          "policy_violation",
          `Engine "monty" runs Python; ${request.language} runs on engine quickjs or v8.`,
          false,
          { rule: "codemode.engines" },
        ),
        started,
      );
    }
    const prepared = preparePython(request.code);
    const spaces = buildNamespaces(request.tools);
    const limits = request.limits;
    const setup: GuestSetup = {
      namespaces: spaces.namespaces,
      callByName: spaces.callByName,
      uses: prepared.uses,
      limits: {
        maxMemoryBytes: Math.max(1, limits.memoryMb) * 1024 * 1024,
        maxDurationSecs: limits.timeoutMs / 1000,
        maxRecursionDepth: recursionDepthFor(limits.stackKb),
        maxLogBytes: limits.maxLogBytes,
        maxResultBytes: limits.maxResultBytes,
      },
      seed: request.seed,
      clockMs: request.clockMs,
      dump: this.#snapshots,
      maxSnapshotBytes: this.#maxSnapshotBytes,
    };
    const codeSha256 = sha256(prepared.source);
    const bindingsSha256 = sha256(
      JSON.stringify([spaces, prepared.uses, setup.limits.maxMemoryBytes, setup.limits.maxRecursionDepth]),
    );
    const saved = await this.#savedRun(request, codeSha256, bindingsSha256);
    const attempt = async (from?: SavedRun) => {
      const broker = new ToolCallBroker(request);
      await broker.load();
      const run = new PythonRun({
        id: ++this.#seq,
        request,
        limits,
        broker,
        source: prepared.source,
        setup,
        codeSha256,
        bindingsSha256,
        scheduler: this.#scheduler,
        graceMs: this.#graceMs,
      });
      this.#runs.set(run.id, run);
      try {
        return { run, broker, end: await run.run(from) };
      } finally {
        this.#runs.delete(run.id);
      }
    };
    let result = await attempt(saved);
    // A snapshot the interpreter refuses (another Monty build): run the script again, replaying the journal.
    if (result.end.status === "snapshot_rejected") result = await attempt(undefined);
    return this.#outcome(result.run, result.broker, result.end, limits, started);
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#pool.close();
  }

  /** The earlier attempt's snapshot, when it belongs to this very script and bindings. */
  async #savedRun(
    request: CodeModeRequest,
    codeSha256: string,
    bindingsSha256: string,
  ): Promise<SavedRun | undefined> {
    const journal = request.journal;
    if (journal?.latestSnapshot === undefined) return undefined;
    let snapshot;
    try {
      snapshot = await journal.latestSnapshot();
    } catch {
      return undefined;
    }
    if (snapshot === undefined || snapshot.engine !== "monty") return undefined;
    const unpacked = unpackSnapshot(snapshot.data);
    if (unpacked === undefined || unpacked.header.seq !== snapshot.seq) return undefined;
    const { header } = unpacked;
    if (header.codeSha256 !== codeSha256 || header.bindingsSha256 !== bindingsSha256) return undefined;
    const version = this.#pool.children.find((c) => c.isReady)?.montyVersion;
    if (version !== undefined && header.montyVersion !== version) return undefined;
    return unpacked;
  }

  #outcome(
    run: PythonRun,
    broker: ToolCallBroker,
    end: RunEnd,
    limits: CodeModeLimits,
    started: number,
  ): CodeModeOutcome {
    const base = {
      logs: run.logs,
      logsTruncated: run.logsTruncated,
      ...broker.report(),
      usage: { wallMs: performance.now() - started },
      ...(run.resumedFrom !== undefined ? { resumedFromSnapshot: { seq: run.resumedFrom } } : {}),
    };
    const fatal = broker.fatalFailure;
    if (fatal !== undefined) return { ...base, status: "failed", failure: fatal };
    if (end.status === "succeeded")
      return { ...base, status: "succeeded", result: JSON.parse(end.resultJson) };
    if (end.status === "failed") return { ...base, status: "failed", failure: end.failure };
    return {
      ...base,
      status: "failed",
      failure: makeFailure(
        "runtime_error",
        `The script's snapshot could not be resumed: ${end.reason}`,
        true,
        {
          limits: { timeoutMs: limits.timeoutMs },
        },
      ),
    };
  }

  #send(child: MontyChild, run: PythonRun, message: HostToChild, listener: SegmentListener): void {
    const previous = run.owner;
    if (previous !== undefined && previous !== child) {
      // The run moves: the old child forgets its copy.
      previous.holds.delete(run.id);
      previous.send({ type: "drop", id: run.id });
    }
    run.began(child);
    this.#pool.run(child, run.id, message, listener);
  }

  /** Hands queued segments to idle children: the child holding the run first, any child if it can move. */
  #dispatch(): void {
    if (this.#disposed) return;
    const children = this.#pool.children;
    for (let i = 0; i < this.#queue.length;) {
      const { run, segment } = this.#queue[i]!;
      if (run.finished) {
        this.#queue.splice(i, 1);
        continue;
      }
      const idle = children.filter((c) => c.idle);
      if (idle.length === 0) return;
      const owner = run.owner;
      let child: MontyChild | undefined;
      if (segment.kind === "start") child = leastLoaded(idle);
      else if (owner?.alive === true && owner.idle) child = owner;
      else if (run.state !== undefined) child = leastLoaded(idle);
      else if (owner?.alive !== true) {
        // Paused without a dump and its child is gone: nothing can continue it.
        this.#queue.splice(i, 1);
        run.fault(
          "the Python worker process holding the paused script was lost (its state was too large to move)",
        );
        continue;
      }
      if (child === undefined) {
        i++;
        continue;
      }
      this.#queue.splice(i, 1);
      this.#send(child, run, run.messageFor(child, segment), run);
    }
  }

  #forget(run: PythonRun): void {
    for (let i = this.#queue.length - 1; i >= 0; i--)
      if (this.#queue[i]!.run === run) this.#queue.splice(i, 1);
    const owner = run.owner;
    if (owner !== undefined) {
      owner.holds.delete(run.id);
      owner.send({ type: "drop", id: run.id });
      run.lostOwner();
    }
  }
}

const leastLoaded = (children: MontyChild[]): MontyChild | undefined =>
  children.reduce<MontyChild | undefined>(
    (best, c) => (best === undefined || c.holds.size < best.holds.size ? c : best),
    undefined,
  );

function fail(failure: Failure, started: number): CodeModeOutcome {
  return {
    status: "failed",
    failure,
    logs: [],
    logsTruncated: false,
    toolCalls: [],
    unmatchedReplays: [],
    usage: { wallMs: performance.now() - started },
  };
}
