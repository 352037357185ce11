// A signal that aborts when any of several does, for the hot path: thousands of calls a second over a few
// long-lived signals (a shutdown signal every run shares, a run's cancellation).

/**
 * One signal aborted (with the first reason) when any of `signals` is. Unlike `AbortSignal.any`, it is held
 * by plain listeners that `dispose()` removes, so nothing stays registered on a long-lived source and no weak
 * reference or finalizer is made per call; call `dispose()` once the work it guards is over.
 * @example const s = anySignal([run, shutdown]); try { await work(s.signal) } finally { s.dispose() }
 */
export function anySignal(signals: readonly (AbortSignal | undefined)[]): {
  signal: AbortSignal;
  dispose(): void;
} {
  const out = new AbortController();
  const aborted = signals.find((s) => s?.aborted);
  if (aborted) {
    out.abort(aborted.reason);
    return { signal: out.signal, dispose: () => {} };
  }
  const listening: [AbortSignal, () => void][] = [];
  const dispose = () => {
    for (const [s, f] of listening) s.removeEventListener("abort", f);
    listening.length = 0;
  };
  for (const s of signals) {
    if (!s) continue;
    const f = () => {
      dispose();
      out.abort(s.reason);
    };
    s.addEventListener("abort", f, { once: true });
    listening.push([s, f]);
  }
  return { signal: out.signal, dispose };
}
