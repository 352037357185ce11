// A wait (backoff) that ends early, quietly, when its signal aborts: shutdowns and cancellations never hang on it.

/**
 * Resolves after `ms`, or as soon as `signal` aborts.
 * @example await abortableSleep(backoffMs, signal)
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
