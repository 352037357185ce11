// A run's journal as a timeline: one row per step with kind, duration bar, badges, failures and remediations.
import { html } from "hono/html";
import type { StepRecord } from "../../store/records.ts";
import type { Html } from "./ui-html.ts";
import { statusBadge } from "./ui-layout.ts";
import { firstLine, formatDuration, prettyJson } from "./ui-format.ts";
import { remediationSource, stepDurationMs } from "./run-summary.ts";
import { forkForm, replayedBadge } from "./fork-view.ts";
import type { RunRecord } from "../../store/records.ts";

type Bag = Record<string, unknown>;
const bag = (v: unknown): Bag => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Bag) : {});
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/**
 * The href of a step's detail page.
 * @example stepHref("run_1", 3) // "/ui/runs/run_1/steps/3"
 */
export function stepHref(runId: string, seq: number): string {
  return `/ui/runs/${encodeURIComponent(runId)}/steps/${seq}`;
}

/** A one-line description of what the step did, by kind. */
function whatItDid(step: StepRecord): string {
  const input = bag(step.input);
  const code = str(input.code);
  switch (step.kind) {
    case "codemode":
      return code ? firstLine(code) : "script";
    case "container":
      return `${str(input.image) ?? "container"}${code ? `: ${firstLine(code, 70)}` : ""}`;
    case "tool":
      return `${str(input.tool) ?? "tool"}(${firstLine(JSON.stringify(input.args ?? {}) ?? "", 60)})`;
    case "human": {
      const q = str(input.question) ?? str(input.prompt) ?? str(step.input);
      const answer = bag(step.output).answer;
      const asked = q ? `asked: ${firstLine(q, 70)}` : "human input";
      return answer === undefined
        ? `${asked} (waiting)`
        : `${asked} → ${firstLine(typeof answer === "string" ? answer : (JSON.stringify(answer) ?? ""), 60)}`;
    }
    case "llm":
      return llmSummary(step);
    case "checkpoint":
      return "checkpoint";
  }
}

function llmSummary(step: StepRecord): string {
  const out = bag(step.output);
  const model = str(bag(step.input).model) ?? str(out.model);
  const calls = Array.isArray(out.toolCalls) ? out.toolCalls.length : 0;
  const action = str(bag(out.action).type) ?? str(out.action);
  const parts = [`LLM turn${model ? ` (${model})` : ""}`];
  if (action) parts.push(`→ ${action}`);
  else if (calls) parts.push(`→ ${calls} tool call${calls === 1 ? "" : "s"}`);
  return parts.join(" ");
}

function badges(step: StepRecord): Html[] {
  const out: Html[] = [];
  if (step.attempt > 1) out.push(html`<span class="badge">re-run: attempt ${step.attempt}</span>`);
  const calls = Array.isArray(bag(step.output).toolCalls)
    ? (bag(step.output).toolCalls as unknown[]).map(bag)
    : [];
  const cachedCalls = calls.filter((c) => c.cached === true).length;
  const replayedCalls = calls.filter((c) => c.replayed === true).length;
  if (step.cached) out.push(html`<span class="badge cached">cached</span>`);
  else if (cachedCalls)
    out.push(html`<span class="badge cached">${cachedCalls} cached call${cachedCalls > 1 ? "s" : ""}</span>`);
  if (bag(step.output).replayed === true) out.push(html`<span class="badge replayed">replayed</span>`);
  else if (replayedCalls)
    out.push(
      html`<span class="badge replayed">${replayedCalls} replayed call${replayedCalls > 1 ? "s" : ""}</span>`,
    );
  if (step.remediation) out.push(html`<span class="badge remedy">auto-remediation</span>`);
  if (step.replayedFrom) out.push(replayedBadge(step) as Html);
  return out;
}

/** Remediation in words: "automatic retry of #2 after out_of_memory: increase_memory (memoryMb 256)". */
function remediationText(step: StepRecord, from: number | null): string {
  const r = step.remediation ?? {};
  const action = str(r.action) ?? str(bag(r.remedy).action) ?? "retry";
  const after = str(r.kind) ? ` after ${str(r.kind)}` : "";
  const params = Object.entries(r)
    .filter(([k, v]) => !REMEDIATION_FIELDS.has(k) && v !== null && typeof v !== "object")
    .map(([k, v]) => `${k} ${String(v)}`);
  const what = from !== null ? `retry of #${from}` : "remediation";
  return `automatic ${what}${after}: ${action}${params.length ? ` (${params.join(", ")})` : ""}`;
}

const REMEDIATION_FIELDS = new Set([
  "afterSeq",
  "fromSeq",
  "failedSeq",
  "seq",
  "action",
  "remedy",
  "kind",
  "attempt",
]);

function messagesOf(v: unknown): { role: string; content: string }[] | null {
  const msgs = Array.isArray(v) ? v : Array.isArray(bag(v).messages) ? (bag(v).messages as unknown[]) : null;
  if (!msgs) return null;
  return msgs.map((m) => {
    const b = bag(m);
    const content = typeof b.content === "string" ? b.content : prettyJson(b.content ?? b, 4000);
    return { role: str(b.role) ?? "message", content };
  });
}

function llmBody(runId: string, step: StepRecord): Html {
  const msgs = messagesOf(step.input);
  return html`<div class="llm-body">
    ${
      msgs
        ? msgs
            .slice(-6)
            .map((m) => html`<div class="msg"><span class="role">${m.role}</span>${m.content}</div>`)
        : html`<pre class="out">${prettyJson(step.input, 4000)}</pre>`
    }
    ${msgs && msgs.length > 6 ? html`<p class="muted">${msgs.length - 6} earlier messages are on the step page.</p>` : ""}
    <h3>Response</h3>
    <pre class="out">${prettyJson(step.output, 4000)}</pre>
    <p><a href="${stepHref(runId, step.seq)}">Open step #${step.seq} in full</a></p>
  </div>`;
}

/**
 * The timeline of a run: steps in order; bars share one time axis from the first step to the last end.
 * With `forkable` (the run), every step has a "Fork from here" form.
 * @example timeline(run.id, steps, Date.now(), run)
 */
export function timeline(runId: string, steps: StepRecord[], nowMs: number, forkable?: RunRecord): Html {
  if (steps.length === 0) return html`<div class="card empty">No steps yet.</div>`;
  const t0 = Math.min(...steps.map((s) => s.startedAt));
  const t1 = Math.max(...steps.map((s) => s.endedAt ?? nowMs));
  const span = Math.max(1, t1 - t0);
  const items = steps.map((step) => {
    const ms = stepDurationMs(step, nowMs);
    const left = Math.min(99.6, ((step.startedAt - t0) / span) * 100);
    const width = Math.max(0.4, (ms / span) * 100);
    const from = remediationSource(step);
    const label = `${step.kind} step ${step.seq}, ${step.status}`;
    const row = html`<div class="step-row">
      <span class="seq">#${step.seq}</span>
      <span class="kind">${step.kind}</span>
      <div class="what">
        ${
          step.kind === "llm"
            ? html`<span>${whatItDid(step)}</span>`
            : html`<a href="${stepHref(runId, step.seq)}" data-nav aria-label="${label}: ${step.key}"
                  >${step.key}</a
                >
                <span class="muted mono">${whatItDid(step)}</span>`
        }
        ${statusBadge(step.status)} ${badges(step)}
        ${
          step.failure
            ? html`<div class="step-fail">
                ✖ <span class="fkind">${step.failure.kind}</span> ${firstLine(step.failure.message, 160)}
              </div>`
            : ""
        }
        ${step.remediation ? html`<div class="step-remedy">↻ ${remediationText(step, from)}</div>` : ""}
      </div>
      <div
        class="bar"
        role="img"
        aria-label="starts at +${formatDuration(step.startedAt - t0)}, lasts ${formatDuration(ms)}"
      >
        <span style="left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%"></span>
      </div>
      <span class="dur">${formatDuration(ms)}<small>attempt ${step.attempt}</small></span>
    </div>`;
    return html`<li
      id="step-${step.seq}"
      class="${step.status}"
      data-seq="${step.seq}"
      data-kind="${step.kind}"
      data-status="${step.status}"
      ${from !== null ? html`data-remediation-from="${from}"` : ""}
    >
      ${
        step.kind === "llm"
          ? html`<details class="llm" id="llm-${step.seq}">
              <summary data-nav>${row}</summary>
              ${llmBody(runId, step)}
            </details>`
          : row
      }
      ${forkable ? forkForm(forkable, step.seq) : ""}
    </li>`;
  });
  return html`<div class="timeline-wrap">
    <ol class="timeline" id="timeline" aria-label="Steps in order">
      ${items}
    </ol>
  </div>`;
}
