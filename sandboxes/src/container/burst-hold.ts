// Jobs in flight on one engine, so background engine work (pool refills, removals of used containers)
// waits until a burst has drained instead of competing with the burst's own jobs for the engine and the CPU.
//
// Why: a warm job costs the engine no API call (its container is already started: the job goes down the
// attach stream), but a refill is a create + attach + start and a removal an unmount and a cgroup teardown,
// each tens of ms of dockerd, containerd and runc CPU. Run during a burst, they slow every job still
// running; run after it, they cost the burst nothing. The hold is bounded (`maxMs`) so a long job or a
// steady stream of jobs never starves the pool of refills; and once one wait has run out, the hold is off
// until the engine has drained once: a job that runs for minutes (any tenant's) is not a burst, and every
// later refill or removal paying the full wait again would slow the pool for all tenants.

/**
 * @example
 * const hold = new BurstHold(); const end = hold.begin(); …; end();
 * await hold.quiet(500); // no job in flight, or 500 ms passed
 */
export class BurstHold {
  #inFlight = 0;
  #waiters: (() => void)[] = [];
  /** A wait ran out while jobs were in flight: no more waiting until none is. */
  #off = false;

  /** Jobs running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** A job started; call the returned function (once) when it ended. */
  begin(): () => void {
    this.#inFlight += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#inFlight -= 1;
      if (this.#inFlight > 0) return;
      this.#off = false;
      for (const w of this.#waiters.splice(0)) w();
    };
  }

  /**
   * Resolves once no job is in flight (at once when none is), or after `maxMs` at the latest; at once too
   * after an earlier wait ran out, until the jobs in flight have all ended.
   */
  quiet(maxMs: number): Promise<void> {
    if (this.#inFlight === 0 || maxMs <= 0 || this.#off) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve();
      };
      // ref'd, like the removal it may delay: a container is removed even when nothing else keeps the
      // process alive (bounded by maxMs)
      const timer = setTimeout(() => {
        if (this.#inFlight > 0) this.#off = true;
        done();
      }, maxMs);
      this.#waiters.push(done);
    });
  }

  /** Lets every waiter go at once (dispose). */
  release(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}
