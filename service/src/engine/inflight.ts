// Tracks executions in progress so a graceful shutdown can wait for them, then abort the rest.

/**
 * Registry of in-flight work. Each entry gets an AbortSignal that fires when the deadline passes.
 * @example const done = inflight.begin(); try { await work(done.signal) } finally { done.end() }
 */
export class Inflight {
  readonly #active = new Set<AbortController>();
  readonly #draining = new AbortController();
  #idle: (() => void) | null = null;

  /** Fires when a drain begins: work that has not started yet (a queued step) must not start. */
  get draining(): AbortSignal {
    return this.#draining.signal;
  }

  get size(): number {
    return this.#active.size;
  }

  begin(): { signal: AbortSignal; end: () => void } {
    const ac = new AbortController();
    this.#active.add(ac);
    return {
      signal: ac.signal,
      end: () => {
        this.#active.delete(ac);
        if (this.#active.size === 0) this.#idle?.();
      },
    };
  }

  /** Resolves true when everything finished within `deadlineMs`, false after aborting what is left. */
  async drain(deadlineMs: number): Promise<boolean> {
    this.#draining.abort(new Error("service shutting down"));
    if (this.#active.size === 0) return true;
    const idle = new Promise<void>((resolve) => (this.#idle = resolve));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs)));
    const ok = await Promise.race([idle.then(() => true as const), timedOut]);
    clearTimeout(timer);
    if (!ok) for (const ac of this.#active) ac.abort(new Error("service shutting down"));
    return ok;
  }
}
