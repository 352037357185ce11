// A fixed pool of Monty child processes: each runs one script segment at a time and holds the paused ones.
import { fork, type ChildProcess } from "node:child_process";
import type { CallMessage, ChildToHost, DoneMessage, HostToChild, OverflowMessage } from "./protocol.ts";

const CHILD_URL = new URL("./child-main.ts", import.meta.url);

/** What the pool tells the execution a segment belongs to. */
export interface SegmentListener {
  message(message: CallMessage | DoneMessage): void;
  /** The running segment's print output went over its cap (the segment goes on until it ends or is killed). */
  overflow(message: OverflowMessage): void;
  /** The child died while running this segment (`reason` names the signal or exit code). */
  fault(reason: string): void;
}

/** One child process. `running` is the execution whose segment it runs; `holds` the paused ones it keeps. */
export class MontyChild {
  readonly proc: ChildProcess;
  readonly ready: Promise<void>;
  alive = true;
  isReady = false;
  running: number | undefined;
  readonly holds = new Set<number>();
  rssMb = 0;
  montyVersion = "unknown";

  constructor(proc: ChildProcess, ready: Promise<void>) {
    this.proc = proc;
    this.ready = ready;
  }

  get idle(): boolean {
    return this.alive && this.isReady && this.running === undefined;
  }

  send(message: HostToChild): void {
    if (this.alive && this.proc.connected) this.proc.send(message);
  }
}

/** Options of the pool. */
export interface ChildPoolOptions {
  size: number;
  /** V8 heap of each child's interpreter thread (the JavaScript side of Monty: messages, values), in MiB. */
  heapMb: number;
  /** Native stack of each child's interpreter thread, in MiB (reserved address space; used on deep recursion). */
  stackMb: number;
  /** A child whose RSS grew past this is replaced once it runs nothing, in MiB. */
  recycleAboveMb: number;
  /** Told when a child holding paused executions died or was replaced (they must move). */
  onLost(child: MontyChild, held: number[]): void;
  /** Told when a child becomes free to run a segment. */
  onIdle(child: MontyChild): void;
}

/**
 * Keeps `size` children alive: started lazily on first use, replaced when one dies (crash, kill,
 * recycle). Routes every child message to the listener of its execution.
 *
 * @example const pool = new ChildPool({ size: 2, heapMb: 128, recycleAboveMb: 512, onLost, onIdle });
 */
export class ChildPool {
  readonly #options: ChildPoolOptions;
  readonly #children: MontyChild[] = [];
  readonly #listeners = new Map<number, SegmentListener>();
  #replaced = 0;
  #closed = false;

  constructor(options: ChildPoolOptions) {
    this.#options = options;
  }

  /** Starts the children if they are not running yet; resolves when every one is ready. */
  async warm(): Promise<void> {
    while (!this.#closed && this.#children.length < this.#options.size) this.#children.push(this.#spawn());
    await Promise.allSettled(this.#children.map((c) => c.ready));
  }

  /** The children (started on first call). */
  get children(): readonly MontyChild[] {
    if (!this.#closed && this.#children.length === 0) void this.warm();
    return this.#children;
  }

  stats(): { children: number; running: number; held: number; replaced: number } {
    return {
      children: this.#children.filter((c) => c.alive).length,
      running: this.#children.filter((c) => c.running !== undefined).length,
      held: this.#children.reduce((n, c) => n + c.holds.size, 0),
      replaced: this.#replaced,
    };
  }

  /** Sends a segment of execution `id` to `child`; its messages go to `listener` until it pauses or ends. */
  run(child: MontyChild, id: number, message: HostToChild, listener: SegmentListener): void {
    child.running = id;
    child.holds.delete(id);
    this.#listeners.set(id, listener);
    child.send(message);
  }

  /** Kills a child at once (a segment past its deadline); the pool starts a replacement. */
  kill(child: MontyChild, reason: string): void {
    if (!child.alive) return;
    this.#died(child, reason);
    child.proc.kill("SIGKILL");
  }

  /** Replaces an idle child whose memory grew too much (its paused executions move elsewhere). */
  recycleIfBloated(child: MontyChild): boolean {
    if (!child.idle || child.rssMb <= this.#options.recycleAboveMb) return false;
    this.kill(child, `recycled at ${Math.round(child.rssMb)} MiB`);
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const exits = this.#children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (!c.alive || c.proc.exitCode !== null || c.proc.signalCode !== null) return resolve();
          c.proc.once("exit", () => resolve());
          c.alive = false;
          c.proc.kill("SIGKILL");
        }),
    );
    await Promise.all(exits);
  }

  #spawn(): MontyChild {
    const proc = fork(CHILD_URL, [String(this.#options.stackMb), String(this.#options.heapMb)], {
      // Nothing of the service's environment (API keys, the secret key) reaches the interpreter's process.
      env: {},
      serialization: "advanced",
      execArgv: ["--max-old-space-size=64", "--disable-warning=ExperimentalWarning"],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const child = new MontyChild(proc, ready);
    let stderr = "";
    let heapOut = false;
    proc.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
      heapOut ||= /Reached heap limit|heap out of memory/.test(stderr);
    });
    proc.on("message", (message: ChildToHost) => {
      if (message.type === "ready") {
        child.isReady = true;
        child.montyVersion = message.montyVersion;
        markReady();
        this.#options.onIdle(child);
        return;
      }
      const listener = this.#listeners.get(message.id);
      if (child.running !== message.id) return;
      if (message.type === "overflow") return listener?.overflow(message);
      child.rssMb = message.rssMb;
      child.running = undefined;
      this.#listeners.delete(message.id);
      if (message.type === "call") child.holds.add(message.id);
      listener?.message(message);
      if (child.alive && !this.recycleIfBloated(child)) this.#options.onIdle(child);
    });
    proc.on("error", (error) => this.#died(child, `${error.name}: ${error.message}`));
    proc.on("exit", (code, signal) => {
      // V8 prints a native stack after its fatal heap error: the cause is the line to keep.
      const tail = heapOut
        ? "JavaScript heap out of memory"
        : (stderr.trim().split("\n").at(-1) ?? "").slice(0, 300);
      this.#died(
        child,
        `${signal !== null ? `signal ${signal}` : `exit code ${code}`}${tail ? `: ${tail}` : ""}`,
      );
      markReady();
    });
    return child;
  }

  #died(child: MontyChild, reason: string): void {
    if (!child.alive) return;
    child.alive = false;
    const running = child.running;
    child.running = undefined;
    const held = [...child.holds];
    child.holds.clear();
    if (running !== undefined) {
      const listener = this.#listeners.get(running);
      this.#listeners.delete(running);
      listener?.fault(reason);
    }
    if (held.length > 0) this.#options.onLost(child, held);
    if (this.#closed) return;
    const index = this.#children.indexOf(child);
    if (index >= 0) {
      this.#replaced++;
      this.#children[index] = this.#spawn();
    }
  }
}
