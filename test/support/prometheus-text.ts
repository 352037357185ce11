// Parses a Prometheus text exposition (with the parse-prometheus-text-format package) into lookups by name
// and labels, for tests that check how counters move.
import { createRequire } from "node:module";

interface ParsedSample {
  value?: string;
  labels?: Record<string, string>;
}
interface ParsedFamily {
  name: string;
  help: string;
  type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
  metrics: ParsedSample[];
}

const parse = createRequire(import.meta.url)("parse-prometheus-text-format") as (
  text: string,
) => ParsedFamily[];

/** One scrape: `value(name, labels)` is the sample whose labels include `labels` (0 when absent). */
export interface Scrape {
  families: Map<string, ParsedFamily>;
  value(name: string, labels?: Record<string, string>): number;
  /** A histogram's observation count for the matching labels (0 when absent). */
  count(name: string, labels?: Record<string, string>): number;
}

const matches = (sample: ParsedSample, labels: Record<string, string>) =>
  Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v);

/**
 * Parses `text`; throws if the parser rejects it.
 * @example parseExposition(await (await fetch(url + "/metrics")).text()).value("mend_steps_total", { kind: "llm" })
 */
export function parseExposition(text: string): Scrape {
  const families = new Map(parse(text).map((f) => [f.name, f]));
  // The package keeps only unlabelled histograms' counts: parsed a second time without the histograms'
  // HELP/TYPE lines, each `_bucket`, `_sum` and `_count` series is a family of its own, labels intact.
  const histograms = new Set([...families.values()].filter((f) => f.type === "HISTOGRAM").map((f) => f.name));
  const untyped = text
    .split("\n")
    .filter((line) => !/^# (HELP|TYPE) (\S+)/.test(line) || !histograms.has(line.split(" ")[2]!))
    .join("\n");
  const series = new Map<string, ParsedSample[]>();
  for (const f of parse(untyped)) series.set(f.name, [...(series.get(f.name) ?? []), ...f.metrics]);
  const find = (name: string, labels: Record<string, string>) =>
    (series.get(name) ?? []).filter((m) => matches(m, labels));
  const value = (name: string, labels: Record<string, string> = {}) =>
    find(name, labels).reduce((n, m) => n + Number(m.value ?? 0), 0);
  return { families, value, count: (name, labels = {}) => value(`${name}_count`, labels) };
}
