// The benchmark summary keeps the last verdict of every section, not only of the sections run last.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { keptSummaryRows, writeResults, type Table } from "./report.ts";

const table = (id: string, name: string, p50Ms: number): Table => ({
  id,
  title: id,
  notes: [],
  rows: [{ name, n: 1, failures: 0, p50Ms, target: { metric: "p50Ms", atMost: 10 } }],
});

test("a summary written after running one section keeps the other sections' rows with the time they were measured", () => {
  const dir = mkdtempSync(join(tmpdir(), "mend-report-"));
  try {
    writeResults(dir, [table("issueA", "a row", 5), table("issueB", "b row", 20)]);
    const first = readFileSync(join(dir, "summary.md"), "utf8");
    const firstAt = /^# Mend benchmarks — (\S+)/m.exec(first)![1]!;
    writeResults(dir, [table("issueB", "b row again", 7)]);
    const second = readFileSync(join(dir, "summary.md"), "utf8");
    const rows = second.split("\n").filter((l) => l.startsWith("| issue"));
    assert.equal(rows.length, 3, second);
    assert.match(rows[1]!, /^\| issueB \| b row again \| 7 \| p50 ≤ 10 ms \| pass \| /);
    assert.ok(!second.includes("| b row |"), "the section run again replaces its earlier rows");
    assert.equal(rows[2], `| issueA | a row | 5 | p50 ≤ 10 ms | pass | ${firstAt} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("rows of a summary written before the measured column get that summary's time", () => {
  const old =
    "# Mend benchmarks — 2026-01-01T00:00:00.000Z\n\n## Summary\n\n| issue | measurement | figure | target | result |\n|---|---|--:|---|---|\n| issue3 | x | 1.9 | ≤ 1.3× | MISS |\n| issue17 | y | 2 | ≥ 2× | pass |\n";
  assert.deepEqual(keptSummaryRows(old, new Set(["issue17"])), [
    "| issue3 | x | 1.9 | ≤ 1.3× | MISS | 2026-01-01T00:00:00.000Z |",
  ]);
});
