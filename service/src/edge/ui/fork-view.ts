// The inspector's fork parts: "Fork from here" on a step, the parent/fork links of a run, and the
// side-by-side view of a fork's timeline and its parent's after the fork point (aligned by step key).
import { html } from "hono/html";
import type { RunRecord, StepRecord } from "../../store/records.ts";
import type { Html } from "./ui-html.ts";
import { statusBadge } from "./ui-layout.ts";
import { firstLine } from "./ui-format.ts";

const runHref = (id: string) => `/ui/runs/${encodeURIComponent(id)}`;
/** As timeline-view's stepHref (not imported: the timeline imports this module). */
const stepHref = (runId: string, seq: number) => `${runHref(runId)}/steps/${seq}`;

/**
 * "Fork from here" for step `seq`: a small form (model, goal, policy) that POSTs /v1/runs/{id}/fork with
 * atSeq = seq (the client script sends it as JSON and opens the new run).
 * @example forkForm(run, 4)
 */
export function forkForm(run: RunRecord, seq: number): Html {
  const id = `fork-${seq}`;
  return html`<details class="fork-from" data-fork-seq="${seq}">
    <summary>Fork from here</summary>
    <form
      method="post"
      action="/v1/runs/${encodeURIComponent(run.id)}/fork"
      data-api="fork"
      class="fork-form"
      aria-label="Fork this run at step ${seq}"
    >
      <input type="hidden" name="atSeq" value="${seq}" />
      <p class="muted">
        A new run replays steps #1–#${seq - 1} from this one and runs live from step #${seq}.
      </p>
      <label for="${id}-model">Model <span class="muted">(empty: this run's)</span></label>
      <input type="text" id="${id}-model" name="model" autocomplete="off" />
      <label for="${id}-goal">Goal <span class="muted">(empty: this run's)</span></label>
      <textarea id="${id}-goal" name="goal" rows="2"></textarea>
      <label for="${id}-policy"
        >Policy <span class="muted">(empty: your key's; it must be your key's)</span></label
      >
      <input type="text" id="${id}-policy" name="policy" autocomplete="off" />
      <p>
        <button type="submit">Fork at step #${seq}</button>
        <output class="form-status" role="status"></output>
      </p>
    </form>
  </details>`;
}

/** The badge of a step copied from the parent when the run was forked, linking to where it was executed. */
export function replayedBadge(step: StepRecord): Html | string {
  const from = step.replayedFrom;
  if (!from) return "";
  return html`<a
    class="badge replayed from-parent"
    href="${stepHref(from.runId, from.seq)}"
    title="Journaled in ${from.runId} (step #${from.seq}); not executed in this run"
    >replayed from parent</a
  >`;
}

/** The facts rows of a run's lineage: the run it was forked from, and its own forks. */
export function lineageFacts(run: RunRecord, forks: RunRecord[]): Html | string {
  const parent = run.parentRunId
    ? html`<dt>Forked from</dt>
        <dd id="fork-parent">
          <a class="mono" href="${runHref(run.parentRunId)}">${run.parentRunId}</a> at step
          <a href="${stepHref(run.parentRunId, run.forkedAtSeq ?? 1)}">#${run.forkedAtSeq ?? 1}</a>
        </dd>`
    : "";
  const children = forks.length
    ? html`<dt>Forks</dt>
        <dd id="fork-children">
          <ul class="forks">
            ${forks.map(
              (f) =>
                html`<li>
                  <a class="mono" href="${runHref(f.id)}">${f.id}</a> at step #${f.forkedAtSeq ?? 1}
                  ${statusBadge(f.status)}
                </li>`,
            )}
          </ul>
        </dd>`
    : "";
  return html`${parent}${children}`;
}

/** A step in one column of the comparison: status, what it was, a link to it. */
function cell(runId: string, step: StepRecord | undefined): Html {
  if (!step) return html`<td class="absent muted">—</td>`;
  const out = step.failure
    ? `${step.failure.kind}: ${firstLine(step.failure.message, 80)}`
    : firstLine(JSON.stringify(step.output ?? null) ?? "", 80);
  return html`<td data-seq="${step.seq}">
    <a href="${stepHref(runId, step.seq)}">#${step.seq}</a> ${statusBadge(step.status)}
    <div class="muted mono">${out}</div>
  </td>`;
}

/**
 * The two timelines after the fork point, side by side, one row per step key (the parent's steps from
 * forkedAtSeq on, and the fork's own steps), in the order the keys first appear in either run.
 * @example forkComparison(fork, forkSteps, parent, parentSteps)
 */
export function forkComparison(
  run: RunRecord,
  steps: StepRecord[],
  parent: RunRecord,
  parentSteps: StepRecord[],
): Html {
  const at = run.forkedAtSeq ?? 1;
  const mine = steps.filter((s) => !s.replayedFrom);
  const theirs = parentSteps.filter((s) => s.seq >= at);
  const order = new Map<string, number>();
  for (const s of [...theirs, ...mine]) order.set(s.key, Math.min(order.get(s.key) ?? s.seq, s.seq));
  const keys = [...order.entries()].sort((a, b) => a[1] - b[1]).map(([k]) => k);
  const byKey = (list: StepRecord[]) => new Map(list.map((s) => [s.key, s]));
  const p = byKey(theirs);
  const f = byKey(mine);
  return html`<section class="fork-compare" aria-labelledby="compare-title">
    <h2 id="compare-title">After the fork point (step #${at}), side by side</h2>
    <table class="runs compare" id="fork-compare">
      <thead>
        <tr>
          <th scope="col">Step key</th>
          <th scope="col">Parent <a class="mono" href="${runHref(parent.id)}">${parent.id}</a></th>
          <th scope="col">This fork</th>
        </tr>
      </thead>
      <tbody>
        ${keys.map(
          (k) =>
            html`<tr data-key="${k}">
              <th scope="row" class="mono">${k}</th>
              ${cell(parent.id, p.get(k))} ${cell(run.id, f.get(k))}
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}
