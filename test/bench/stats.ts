// Shared statistics for the benchmark tables: percentiles and throughput from raw samples.

/** One line of a benchmark table. */
export interface Row {
  name: string;
  n?: number;
  p50Ms: number;
  p99Ms: number;
  throughputPerS?: number;
  target?: string;
  notes?: string;
}

/** The q-quantile (0..1) of samples, nearest-rank. */
export function percentile(samples: number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx]!;
}

/**
 * Summarises latency samples (ms) into a table row.
 * @example summarize("route", [0.3, 0.4, 0.5]) // { name: "route", p50Ms: 0.4, ... }
 */
export function summarize(name: string, samplesMs: number[], extra: Partial<Row> = {}): Row {
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    name,
    n: samplesMs.length,
    p50Ms: round(percentile(samplesMs, 0.5)),
    p99Ms: round(percentile(samplesMs, 0.99)),
    ...extra,
  };
}
