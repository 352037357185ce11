// Renders benchmark tables as markdown (one per issue plus a summary) and writes them under bench/results/.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { targetText, verdict, type Row } from "./stats.ts";

/** The benchmark of one issue: its rows and the notes needed to read them honestly. */
export interface Table {
  /** File stem and --only name, e.g. "issue3". */
  id: string;
  title: string;
  rows: Row[];
  notes: string[];
  /** Wall time of the whole section, ms. */
  wallMs?: number;
  /** A host fault that stopped the section early (the rows measured so far are kept). */
  error?: string;
}

const fmt = (x: number | undefined, digits = 3): string =>
  x === undefined || !Number.isFinite(x) ? "" : Number(x.toFixed(digits)).toLocaleString("en-US");

const cell = (s: string): string => s.replaceAll("|", "\\|").replaceAll("\n", " ");

/**
 * The machine the numbers come from, for every file's header.
 * @example machineLine() // "2 × Intel(R) Xeon(R) Processor, 24 GiB RAM, Node v24.21.0"
 */
export function machineLine(): string {
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`;
}

/**
 * One table as markdown: a row per measurement with its target next to it and a pass/miss column.
 * @example renderTable({ id: "issue2", title: "SQLite drivers", rows, notes: [] })
 */
export function renderTable(t: Table): string {
  const lines = [
    `## ${t.title}`,
    "",
    "| measurement | n | failed | p50 ms | p99 ms | throughput /s | memory | target | result | notes |",
    "|---|--:|--:|--:|--:|--:|---|---|---|---|",
  ];
  for (const r of t.rows) {
    const extra = r.ratio !== undefined ? `ratio ${fmt(r.ratio, 1)}×` : "";
    lines.push(
      `| ${[
        r.name,
        r.n === undefined ? "" : String(r.n),
        String(r.failures ?? 0),
        fmt(r.p50Ms),
        fmt(r.p99Ms),
        fmt(r.throughputPerS, 1),
        r.memory ?? (r.peakRssMb !== undefined ? `peak ${fmt(r.peakRssMb, 0)} MiB` : ""),
        targetText(r.target),
        verdict(r),
        [extra, r.notes ?? ""].filter(Boolean).join("; "),
      ]
        .map(cell)
        .join(" | ")} |`,
    );
  }
  const failed = t.rows.filter((r) => (r.failures ?? 0) > 0);
  if (failed.length > 0) {
    lines.push("", "**Failures:**", "");
    for (const r of failed) {
      lines.push(`- ${r.name}: ${r.failures} failed`);
      for (const m of r.failureMessages ?? []) lines.push(`  - ${m}`);
    }
  }
  if (t.error) lines.push("", `**Section stopped by a host fault:** ${t.error}`);
  if (t.notes.length > 0) lines.push("", ...t.notes.map((n) => `- ${n}`));
  if (t.wallMs !== undefined) lines.push("", `_Section wall time: ${fmt(t.wallMs / 1000, 1)} s._`);
  return lines.join("\n") + "\n";
}

/** The summary's table head; `measured` tells rows of this invocation from rows kept from an earlier one. */
const SUMMARY_HEAD = [
  "## Summary",
  "",
  "| issue | measurement | figure | target | result | measured |",
  "|---|---|--:|---|---|---|",
];

/**
 * The summary: one line per row that has a target or failures, across every table; `kept` lines (rows of
 * sections this invocation did not run, from an earlier summary) follow, so that one file always shows
 * every section's last verdict.
 */
export function renderSummary(
  tables: Table[],
  measuredAt = new Date().toISOString(),
  kept: string[] = [],
): string {
  const lines = [...SUMMARY_HEAD];
  for (const t of tables) {
    for (const r of t.rows) {
      if (!r.target && !(r.failures ?? 0)) continue;
      const v = r.target ? r[r.target.metric] : undefined;
      lines.push(
        `| ${[t.id, r.name, typeof v === "number" ? fmt(v) : "", targetText(r.target), verdict(r), measuredAt].map(cell).join(" | ")} |`,
      );
    }
    if (t.error) lines.push(`| ${t.id} | (section stopped) | | | ${cell(t.error)} | ${measuredAt} |`);
  }
  return [...lines, ...kept].join("\n") + "\n";
}

/**
 * The rows of an earlier summary whose section is not in `ran`, each with the time it was measured (a
 * summary written before the `measured` column existed gives its header's time to all its rows).
 */
export function keptSummaryRows(previous: string, ran: ReadonlySet<string>): string[] {
  const at = /^# Mend benchmarks — (\S+)/m.exec(previous)?.[1] ?? "earlier";
  const rows: string[] = [];
  for (const line of previous.split("\n")) {
    if (!line.startsWith("| ") || line.startsWith("| issue |")) continue;
    const cells = line.slice(2, -2).split(" | ");
    if (ran.has(cells[0]!)) continue;
    rows.push(cells.length >= 6 ? line : `| ${[...cells, at].join(" | ")} |`);
  }
  return rows;
}

/**
 * Writes bench/results/<id>.md per table and summary.md (this invocation's rows, then the last rows of
 * the sections it did not run); returns the summary text.
 * @example writeResults("bench/results", tables)
 */
export function writeResults(dir: string, tables: Table[]): string {
  mkdirSync(dir, { recursive: true });
  const measuredAt = new Date().toISOString();
  const header = `# Mend benchmarks — ${measuredAt}\n\n${machineLine()}\n\n`;
  for (const t of tables) writeFileSync(join(dir, `${t.id}.md`), header + renderTable(t));
  const file = join(dir, "summary.md");
  const previous = existsSync(file) ? readFileSync(file, "utf8") : "";
  const kept = keptSummaryRows(previous, new Set(tables.map((t) => t.id)));
  const summary = header + renderSummary(tables, measuredAt, kept);
  writeFileSync(file, summary);
  return summary;
}
