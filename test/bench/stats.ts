// Shared vocabulary of the benchmark tables: a row (percentiles, throughput, memory, failures), its target and verdict.

/** A target on one measured figure of a row: at most (latency, memory) or at least (throughput, ratio). */
export interface Target {
  metric: "p50Ms" | "p99Ms" | "throughputPerS" | "peakRssMb" | "ratio";
  atMost?: number;
  atLeast?: number;
}

/** One line of a benchmark table. */
export interface Row {
  name: string;
  /** Operations attempted (successes + failures). */
  n?: number;
  /** Operations that failed (error status, wrong answer, timeout): a row with failures never passes. */
  failures?: number;
  /** The distinct failure messages with their counts, printed under the table. */
  failureMessages?: string[];
  p50Ms?: number;
  p99Ms?: number;
  throughputPerS?: number;
  /** Peak resident memory of the measured process (VmHWM), MiB. */
  peakRssMb?: number;
  /** Free text for the memory column (e.g. current RSS too). */
  memory?: string;
  /** A dimensionless figure compared with a target (e.g. V8 vs QuickJS speed-up). */
  ratio?: number;
  target?: Target;
  notes?: string;
}

/**
 * The q-quantile (0..1) of samples, nearest-rank.
 * @example percentile([3, 1, 2], 0.5) // 2
 */
export function percentile(samples: number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx]!;
}

/**
 * Rounds to 3 decimals (µs resolution for milliseconds).
 * @example round3(0.12345) // 0.123
 */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Summarises latency samples (ms) into a table row.
 * @example summarize("route", [0.3, 0.4, 0.5]) // { name: "route", n: 3, p50Ms: 0.4, p99Ms: 0.5, failures: 0 }
 */
export function summarize(name: string, samplesMs: number[], extra: Partial<Row> = {}): Row {
  return {
    name,
    n: samplesMs.length + (extra.failures ?? 0),
    failures: 0,
    p50Ms: round3(percentile(samplesMs, 0.5)),
    p99Ms: round3(percentile(samplesMs, 0.99)),
    ...extra,
  };
}

/** The figure a target is about, if the row has it. */
function figure(row: Row, metric: Target["metric"]): number | undefined {
  const v = row[metric];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/**
 * The result column: failures first (a row with failures is marked so whatever its figures), then the target.
 * @example verdict({ name: "x", p50Ms: 0.3, target: { metric: "p50Ms", atMost: 0.5 } }) // "pass"
 */
export function verdict(row: Row): string {
  if ((row.failures ?? 0) > 0) return `FAILED (${row.failures} of ${row.n ?? "?"})`;
  if (!row.target) return "";
  const v = figure(row, row.target.metric);
  if (v === undefined) return "n/a";
  const { atMost, atLeast } = row.target;
  const ok = (atMost === undefined || v <= atMost) && (atLeast === undefined || v >= atLeast);
  return ok ? "pass" : "MISS";
}

/**
 * The target column in words.
 * @example targetText({ metric: "throughputPerS", atLeast: 1000 }) // "≥ 1,000/s"
 */
export function targetText(t: Target | undefined): string {
  if (!t) return "";
  const num = (x: number) => x.toLocaleString("en-US");
  const bound = t.atMost !== undefined ? `≤ ${num(t.atMost)}` : `≥ ${num(t.atLeast ?? 0)}`;
  switch (t.metric) {
    case "p50Ms":
      return `p50 ${bound} ms`;
    case "p99Ms":
      return `p99 ${bound} ms`;
    case "throughputPerS":
      return `${bound}/s`;
    case "peakRssMb":
      return `peak RSS ${bound} MiB`;
    case "ratio":
      return `${bound}×`;
  }
}
