// Follows one Docker engine: its container events (die/destroy) and a ping, so placement knows at once when it stops answering.
import type Docker from "dockerode";
import { setTimeout as delay } from "node:timers/promises";
import { LABEL_MEND } from "./labels.ts";

export interface EngineWatchOptions {
  /** Time between pings while a job runs on the engine or the engine is down, ms (default 500). */
  pingMs?: number;
  /**
   * Time between pings otherwise, ms (default 5000): an idle service asked each engine twice a second
   * forever. A lost engine is still known at once (its socket refuses, its event stream breaks: a ping
   * follows), and a job's start brings the fast pings back at once (`busy`).
   */
  idlePingMs?: number;
  /**
   * A ping that takes longer counts as no answer, ms (default 5000: a loaded machine answers slowly; an
   * engine that is gone is known at once, its socket refuses the connection).
   */
  pingTimeoutMs?: number;
  /** Called when the engine answers after it did not (or for the first time); errors make it retry at the next ping. */
  onUp?: () => Promise<unknown>;
}

type Waiter = { promise: Promise<void>; resolve: () => void };

/**
 * Pings the engine and follows its event stream. `state` is `down` from the first failed ping or
 * broken event stream (then a ping confirms at once) until a ping succeeds again; `onUp` runs on each
 * return (the runner removes its orphans there). `gone(id)` settles when the engine reports the
 * container's `die` or `destroy`, and for every watched container when the event stream was lost.
 * Pings every `pingMs` while the engine is down or a job holds `busy()`, else every `idlePingMs`.
 * @example
 * const watch = new EngineWatch(docker, { onUp: () => runner.reconcile() });
 * await watch.start(); watch.state; // "up"
 */
export class EngineWatch {
  #state: "up" | "down" = "down";
  #version: string | undefined;
  #memoryMb: number | undefined;
  #error: string | undefined = "not checked yet";
  #needsOnUp = true;
  #events: NodeJS.ReadableStream | undefined;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** The interval the ping loop sleeps for now (undefined while it pings). */
  #sleepingMs: number | undefined;
  /** Jobs running on the engine (`busy`). */
  #busy = 0;
  #checking: Promise<boolean> | undefined;
  readonly #waiters = new Map<string, Waiter>();
  readonly #docker: Docker;
  readonly #pingMs: number;
  readonly #idlePingMs: number;
  readonly #pingTimeoutMs: number;
  readonly #onUp: (() => Promise<unknown>) | undefined;

  constructor(docker: Docker, options: EngineWatchOptions = {}) {
    this.#docker = docker;
    this.#pingMs = options.pingMs ?? 500;
    this.#idlePingMs = Math.max(this.#pingMs, options.idlePingMs ?? 5000);
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 5000;
    this.#onUp = options.onUp;
  }

  get state(): "up" | "down" {
    return this.#state;
  }
  get version(): string | undefined {
    return this.#version;
  }
  get memoryMb(): number | undefined {
    return this.#memoryMb;
  }
  get error(): string | undefined {
    return this.#error;
  }

  /** The time to the next ping the loop chooses now, ms: fast while the engine is down or busy. */
  get pingIntervalMs(): number {
    return this.#state === "down" || this.#busy > 0 ? this.#pingMs : this.#idlePingMs;
  }

  /**
   * Marks a job running on the engine until the returned function is called (once): pings come every
   * `pingMs` meanwhile, so a lost engine is known as soon as while it was down. An idle loop's wait ends
   * now (a ping, then the fast interval).
   * @example const done = watch.busy(); try { await runJob(); } finally { done(); }
   */
  busy(): () => void {
    this.#busy += 1;
    if (this.#sleepingMs !== undefined && this.#sleepingMs > this.#pingMs) this.#wake?.();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#busy -= 1;
    };
  }

  /** First check, then the ping loop in the background. */
  async start(): Promise<void> {
    await this.check();
    this.#loop ??= this.#run();
  }

  /** Pings now (coalesced with a ping in flight); resolves with whether the engine answered. */
  check(): Promise<boolean> {
    this.#checking ??= this.#ping().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  /** Settles when the engine reports this container dead (or the event stream was lost). */
  gone(id: string): Promise<void> {
    let w = this.#waiters.get(id);
    if (w === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      w = { promise, resolve };
      this.#waiters.set(id, w);
    }
    return w.promise;
  }

  async dispose(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    this.#events?.removeAllListeners();
    (this.#events as { destroy?: () => void } | undefined)?.destroy?.();
    this.#events = undefined;
    await this.#loop;
    this.#releaseAll();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const ms = this.pingIntervalMs;
      const waited = new AbortController();
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#sleepingMs = ms;
        delay(ms, undefined, { ref: false, signal: waited.signal }).then(resolve, resolve);
      });
      waited.abort(); // a woken wait's timer goes with it
      this.#sleepingMs = undefined;
      if (this.#stopped) return;
      await this.check();
    }
  }

  async #ping(): Promise<boolean> {
    try {
      await this.#ask("ping");
    } catch (err) {
      this.#markDown(err);
      return false;
    }
    if (this.#state === "down") {
      try {
        const info = (await this.#ask("version")) as { Version?: string };
        this.#version = info.Version;
        const sys = (await this.#ask("info")) as { MemTotal?: number };
        if (typeof sys.MemTotal === "number") this.#memoryMb = Math.floor(sys.MemTotal / 1048576);
        await this.#follow();
      } catch (err) {
        this.#markDown(err);
        return false;
      }
      this.#state = "up";
      this.#error = undefined;
    }
    if (this.#needsOnUp && this.#onUp !== undefined && !this.#stopped) {
      try {
        await this.#onUp();
        this.#needsOnUp = false;
      } catch {
        // the engine went away again meanwhile: the next successful ping runs it again
      }
    } else this.#needsOnUp = false;
    return this.#state === "up";
  }

  /** One engine call bounded by the ping timeout (dockerode takes an abortSignal its types omit). */
  #ask(call: "ping" | "version" | "info"): Promise<unknown> {
    const fn = this.#docker[call].bind(this.#docker) as unknown as (o: object) => Promise<unknown>;
    return fn({ abortSignal: AbortSignal.timeout(this.#pingTimeoutMs) });
  }

  #markDown(err: unknown): void {
    if (this.#stopped) return;
    this.#state = "down";
    this.#needsOnUp = true;
    this.#error = err instanceof Error ? err.message : String(err);
    this.#events?.removeAllListeners();
    (this.#events as { destroy?: () => void } | undefined)?.destroy?.();
    this.#events = undefined;
    // events may be missed while the engine is away: every watched container counts as gone
    this.#releaseAll();
  }

  async #follow(): Promise<void> {
    const stream = await this.#docker.getEvents({
      filters: { type: ["container"], event: ["die", "destroy"], label: [`${LABEL_MEND}=1`] },
    });
    this.#events = stream;
    let buffered = "";
    stream.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line.length > 0) this.#onEvent(line);
      }
      if (buffered.length > 1024 * 1024) buffered = ""; // not an event stream
    });
    const lost = (): void => {
      if (this.#events !== stream || this.#stopped) return;
      this.#events = undefined;
      // the stream broke: ask the engine now rather than at the next tick
      this.check().then(
        (up) => {
          if (up && this.#events === undefined && !this.#stopped) void this.#follow().catch(() => undefined);
        },
        () => undefined,
      );
    };
    stream.once("end", lost);
    stream.once("close", lost);
    stream.once("error", lost);
  }

  #onEvent(line: string): void {
    let ev: { id?: string; Action?: string; status?: string };
    try {
      ev = JSON.parse(line) as typeof ev;
    } catch {
      return;
    }
    if (typeof ev.id !== "string") return;
    const w = this.#waiters.get(ev.id);
    if (w === undefined) return;
    this.#waiters.delete(ev.id);
    w.resolve();
  }

  #releaseAll(): void {
    for (const w of this.#waiters.values()) w.resolve();
    this.#waiters.clear();
  }
}
