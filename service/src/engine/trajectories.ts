// Runs as training/evaluation trajectories: each step's input, output, failure and the recovery that followed.
import type { RunStatus } from "@mend/wire";
import type { RunRecord, StepRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import type { Caller } from "../core/caller.ts";
import { runView, stepView } from "./run-view.ts";

/** The step that answered a failed step: a remediation linked to it, else the next step of the run. */
function recoveryOf(
  step: StepRecord,
  steps: StepRecord[],
): { seq: number; key: string; status: string; automatic: boolean } | null {
  if (step.status !== "failed") return null;
  const linked = steps.find((s) => (s.remediation as { afterSeq?: number } | null)?.afterSeq === step.seq);
  const next = linked ?? steps.find((s) => s.seq > step.seq);
  return next ? { seq: next.seq, key: next.key, status: next.status, automatic: linked !== undefined } : null;
}

/** Deepest lineage an export walks (a fork of a fork of …): bounded, so a cycle could never hang it. */
const MAX_LINEAGE = 100;

/** The ancestors of a fork, its parent first (runs of the tenant only; a missing one ends the walk). */
async function lineageOf(store: Store, tenant: string, run: RunRecord): Promise<string[]> {
  const out: string[] = [];
  let parent = run.parentRunId;
  while (parent && out.length < MAX_LINEAGE && !out.includes(parent)) {
    out.push(parent);
    parent = (await store.getRun(tenant, parent))?.parentRunId ?? null;
  }
  return out;
}

/**
 * One JSON line per run of the caller's tenant (optionally filtered by status), oldest page first.
 * @example for await (const line of exportTrajectories(store, who, { status: "failed" })) out.write(line)
 */
export async function* exportTrajectories(
  store: Store,
  who: Caller,
  q: { status?: RunStatus; runId?: string },
): AsyncGenerator<string> {
  let cursor: string | undefined;
  do {
    const page = q.runId
      ? { items: [await store.getRun(who.tenant, q.runId)].filter((r) => r !== null), nextCursor: null }
      : await store.listRuns(who.tenant, { status: q.status, limit: 100, cursor, includeImplicit: true });
    for (const run of page.items) {
      const steps = await store.listSteps(run.id);
      // A fork keeps its lineage: parentRunId/forkedAtSeq in `run`, its ancestors here, replayedFrom per step.
      const lineage = run.parentRunId ? { lineage: await lineageOf(store, who.tenant, run) } : {};
      const trajectory = {
        run: runView(run),
        ...lineage,
        steps: steps.map((s) => ({ ...stepView(s), recovery: recoveryOf(s, steps) })),
        failures: steps.filter((s) => s.status === "failed").length,
        remediations: steps.filter((s) => s.remediation !== null).length,
      };
      yield `${JSON.stringify(trajectory)}\n`;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}
