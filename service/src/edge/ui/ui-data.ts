// Reads what the inspector pages show, always scoped to the caller's tenant, and parses the list filters.
import type { RunStatus } from "@mend/wire";
import type { Caller } from "../../core/caller.ts";
import { Rejection } from "../../core/rejection.ts";
import type { EventRecord, RunOrigin, RunRecord, StepRecord } from "../../store/records.ts";
import { InvalidCursorError } from "../../store/store-errors.ts";
import type { Store } from "../../store/store.ts";
import { matchesText, summarizeRun, type RunSummary } from "./run-summary.ts";

export const RUN_STATUSES: readonly RunStatus[] = [
  "running",
  "waiting_for_input",
  "succeeded",
  "failed",
  "cancelled",
];

/** Runs scanned for a text search (the store filters by status only; text is matched here). */
export const TEXT_SCAN_LIMIT = 200;
const PAGE_LIMIT = 50;

/** Where a run came from; the list shows every origin unless one is picked. */
export const RUN_ORIGINS: readonly RunOrigin[] = ["hosted", "client", "one-off", "mcp"];

export interface RunFilters {
  status?: RunStatus;
  q: string;
  origin?: RunOrigin;
  cursor?: string;
}

export interface RunRow {
  run: RunRecord;
  summary: RunSummary;
}

/**
 * The list filters from a query string; unknown values are ignored rather than rejected (it is a page).
 * @example parseFilters({ status: "failed", q: "csv", origin: "mcp" }) // { status: "failed", q: "csv", origin: "mcp" }
 */
export function parseFilters(query: Record<string, string | undefined>): RunFilters {
  const status = RUN_STATUSES.find((s) => s === query.status);
  const origin = RUN_ORIGINS.find((o) => o === query.origin);
  const cursor = query.cursor && query.cursor.length <= 200 ? query.cursor : undefined;
  return {
    ...(status ? { status } : {}),
    q: (query.q ?? "").slice(0, 200),
    ...(origin ? { origin } : {}),
    ...(cursor ? { cursor } : {}),
  };
}

/**
 * One page of runs with their journal counts, newest first, filtered by status (store) and text (here).
 * @example const { rows } = await loadRunRows(store, who, { q: "", implicit: false }, Date.now())
 */
export async function loadRunRows(
  store: Store,
  who: Caller,
  f: RunFilters,
  nowMs: number,
): Promise<{ rows: RunRow[]; nextCursor: string | null }> {
  let page;
  try {
    page = await store.listRuns(who.tenant, {
      status: f.status,
      limit: f.q.trim() ? TEXT_SCAN_LIMIT : PAGE_LIMIT,
      cursor: f.cursor,
      includeImplicit: true,
      ...(f.origin ? { origin: f.origin } : {}),
    });
  } catch (e) {
    if (e instanceof InvalidCursorError) throw new Rejection("invalid", e.message);
    throw e;
  }
  const rows: RunRow[] = [];
  for (const run of page.items) {
    if (!matchesText(run, f.q)) continue;
    const idleMs = who.policy.budgets.clientIdleMs;
    rows.push({ run, summary: summarizeRun(run, await store.listSteps(run.id), nowMs, idleMs) });
  }
  return { rows, nextCursor: page.nextCursor };
}

/**
 * A run, its journal and the id of its latest event (where the live stream resumes), or not_found.
 * @example const { run, steps, lastEventId } = await loadRun(store, who, "run_123")
 */
export async function loadRun(
  store: Store,
  who: Caller,
  id: string,
): Promise<{ run: RunRecord; steps: StepRecord[]; lastEventId: number; events: EventRecord[] }> {
  const run = await store.getRun(who.tenant, id);
  if (!run) throw new Rejection("not_found", `run ${id} does not exist`);
  const steps = await store.listSteps(id);
  const events = await store.listEvents(id, 0);
  return { run, steps, lastEventId: events.at(-1)?.id ?? 0, events };
}

/** Forks listed on a run's page (the newest; the API lists them all). */
const FORKS_SHOWN = 20;

/**
 * The lineage of a run for its page: the parent (of the caller's tenant) with its journal, and its forks.
 * @example const lineage = await loadLineage(store, who, run)
 */
export async function loadLineage(
  store: Store,
  who: Caller,
  run: RunRecord,
): Promise<{ parent: { run: RunRecord; steps: StepRecord[] } | null; forks: RunRecord[] }> {
  const parentRun = run.parentRunId ? await store.getRun(who.tenant, run.parentRunId) : null;
  const parent = parentRun ? { run: parentRun, steps: await store.listSteps(parentRun.id) } : null;
  const forks = (await store.listRuns(who.tenant, { limit: FORKS_SHOWN, parentRunId: run.id })).items;
  return { parent, forks };
}
