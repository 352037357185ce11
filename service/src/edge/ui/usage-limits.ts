// Pairs what a step used with the limit it ran under, saying where each limit came from.
import type { StepRecord } from "../../store/records.ts";

export interface UsageRow {
  label: string;
  used: number | null;
  limit: number | null;
  unit: "MiB" | "ms" | "calls";
  /** Where the limit was read: the policy's resolution (audit), the request, or the failure. */
  limitSource: "policy" | "request" | "failure" | null;
}

type Bag = Record<string, unknown>;

const asBag = (v: unknown): Bag | null =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Bag) : null;
const numAt = (bag: Bag | null, key: string): number | null => {
  const v = bag?.[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
};

const PAIRS: { label: string; usage: string; limit: string | null; unit: UsageRow["unit"] }[] = [
  { label: "Memory peak", usage: "memoryPeakMb", limit: "memoryMb", unit: "MiB" },
  { label: "Wall time", usage: "wallMs", limit: "timeoutMs", unit: "ms" },
  { label: "CPU time", usage: "cpuMs", limit: null, unit: "ms" },
  { label: "Disk", usage: "diskMb", limit: "diskMb", unit: "MiB" },
];

/**
 * Usage against limits for one step. Limits come from `audit.resolved` (what the policy granted; either
 * flat or under `limits`), else the request's `limits`, else the failure's `limits`.
 * @example usageRows(step).find((r) => r.label === "Memory peak") // { used: 120, limit: 128, ... }
 */
export function usageRows(step: StepRecord): UsageRow[] {
  const usage = asBag(step.usage) ?? asBag(step.failure?.usage);
  const failureUsage = asBag(step.failure?.usage);
  const resolved = asBag(step.audit?.resolved);
  const sources: [UsageRow["limitSource"], Bag | null][] = [
    ["policy", asBag(resolved?.limits) ?? resolved],
    ["request", asBag(asBag(step.input)?.limits)],
    ["failure", asBag(step.failure?.limits)],
  ];
  const rows: UsageRow[] = [];
  for (const p of PAIRS) {
    const used = numAt(usage, p.usage) ?? numAt(failureUsage, p.usage);
    let limit: number | null = null;
    let limitSource: UsageRow["limitSource"] = null;
    if (p.limit) {
      for (const [source, bag] of sources) {
        const v = numAt(bag, p.limit);
        if (v !== null) {
          limit = v;
          limitSource = source;
          break;
        }
      }
    }
    if (used !== null || limit !== null)
      rows.push({ label: p.label, used, limit, unit: p.unit, limitSource });
  }
  const calls = asBag(step.output)?.toolCalls;
  const callLimit = sources.find(([, bag]) => numAt(bag, "maxToolCalls") !== null);
  const maxCalls = callLimit ? numAt(callLimit[1], "maxToolCalls") : null;
  if (Array.isArray(calls) && (calls.length > 0 || maxCalls !== null)) {
    rows.push({
      label: "Tool calls",
      used: calls.length,
      limit: maxCalls,
      unit: "calls",
      limitSource: callLimit?.[0] ?? null,
    });
  }
  return rows;
}
