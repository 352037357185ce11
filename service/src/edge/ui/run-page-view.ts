// The run page (/ui/runs/{id}): header with facts, lineage and actions, the human-in-the-loop form, the
// fork comparison, the timeline.
import { html } from "hono/html";
import type { EventRecord, RunRecord, StepRecord } from "../../store/records.ts";
import type { Html } from "./ui-html.ts";
import { layout, statusBadge } from "./ui-layout.ts";
import { formatDuration, formatTime, prettyJson } from "./ui-format.ts";
import { summarizeRun } from "./run-summary.ts";
import { stepHref, timeline } from "./timeline-view.ts";
import { forkComparison, lineageFacts } from "./fork-view.ts";

/** A run's lineage as the run page shows it: its parent (with the parent's journal) and its forks. */
export interface Lineage {
  parent: { run: RunRecord; steps: StepRecord[] } | null;
  forks: RunRecord[];
}

const NO_LINEAGE: Lineage = { parent: null, forks: [] };

const runHref = (id: string) => `/ui/runs/${encodeURIComponent(id)}`;
const apiHref = (id: string, action: string) => `/v1/runs/${encodeURIComponent(id)}/${action}`;

/**
 * The failure object as a readable block: kind (red), message, and the remedy the policy suggests.
 * @example failureBox(run.failure)
 */
export function failureBox(f: NonNullable<RunRecord["failure"]>, title = "Failure"): Html {
  const remedy = f.remedy
    ? Object.entries(f.remedy)
        .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
        .join(", ")
    : null;
  return html`<div class="failure-box" role="group" aria-label="${title}">
    <div>
      <span class="fkind">${f.kind}</span>
      <span class="muted">· ${f.layer} · ${f.retryable ? "retryable" : "not retryable"}</span>
    </div>
    <p style="margin:.3rem 0;white-space:pre-wrap">${f.message}</p>
    ${remedy ? html`<div><strong>Remedy:</strong> <span class="mono">${remedy}</span></div>` : ""}
  </div>`;
}

/** The request shown to the human: a question/message/prompt field in words, the rest as JSON. */
function waitingRequest(w: unknown): Html {
  if (typeof w === "string") return html`<p style="white-space:pre-wrap;font-size:1.05rem">${w}</p>`;
  const b = typeof w === "object" && w !== null ? (w as Record<string, unknown>) : {};
  const text = [b.question, b.message, b.prompt, b.reason].find((v): v is string => typeof v === "string");
  return html`${text ? html`<p style="white-space:pre-wrap;font-size:1.05rem">${text}</p>` : ""}
    <details ${text ? "" : "open"}>
      <summary>Full request</summary>
      <pre class="out">${prettyJson(w)}</pre>
    </details>`;
}

/** The durable backoff of a hosted run whose model provider fails (kept in waitingFor while running). */
function retryNote(
  run: RunRecord,
): { retryAt: number; since: number; attempts: number; failure?: { message?: string } } | null {
  const w = run.waitingFor as { kind?: unknown; retryAt?: unknown } | null;
  return run.status === "running" && w?.kind === "llm_retry" && typeof w.retryAt === "number"
    ? (w as { retryAt: number; since: number; attempts: number; failure?: { message?: string } })
    : null;
}

function backoffNote(run: RunRecord): Html | string {
  const note = retryNote(run);
  if (!note) return "";
  return html`<p class="waiting" id="run-retrying" role="status">
    The model provider is failing (${note.attempts} call${note.attempts === 1 ? "" : "s"} since
    <time datetime="${new Date(note.since).toISOString()}">${formatTime(note.since)}</time>); the run calls it
    again at <time datetime="${new Date(note.retryAt).toISOString()}">${formatTime(note.retryAt)}</time> by
    itself. Last: ${note.failure?.message ?? "unknown"}
  </p>`;
}

function waitingSection(run: RunRecord): Html {
  return html`<section class="waiting" aria-labelledby="waiting-title">
    <h2 id="waiting-title">This run is waiting for your input</h2>
    ${waitingRequest(run.waitingFor)}
    <form method="post" action="${apiHref(run.id, "input")}" data-api="input" id="input-form">
      <label for="answer"><strong>Your answer</strong></label>
      <textarea id="answer" name="input" required aria-describedby="answer-help"></textarea>
      <p id="answer-help" class="muted">Sent as text, or as JSON when the box below is ticked.</p>
      <label class="check"
        ><input type="checkbox" name="json" value="1" id="answer-json" /> Send as JSON</label
      >
      <p>
        <button type="submit">Send answer</button>
        <output class="form-status" role="status" for="answer"></output>
      </p>
    </form>
  </section>`;
}

/**
 * The live part of the run page (what the client script re-fetches when events arrive).
 * @example c.html(runLive(run, steps, Date.now()))
 */
export function runLive(
  run: RunRecord,
  steps: StepRecord[],
  nowMs: number,
  lineage: Lineage = NO_LINEAGE,
  opts: { idleMs?: number | undefined } = {},
): Html {
  const sum = summarizeRun(run, steps, nowMs, opts.idleMs);
  const title = run.goal ?? (run.implicit ? "One-off execution" : "Run without a goal");
  // The step whose failure ended the run (same kind), when there is one.
  const lastFailed = steps.findLast((s) => s.status === "failed" && s.failure?.kind === run.failure?.kind);
  return html`<section class="run-head card" aria-labelledby="run-title">
      <div>
        <h1 id="run-title">${title}</h1>
        <dl class="facts">
          <dt>Status</dt>
          <dd id="run-status" data-status="${run.status}">
            ${statusBadge(run.status)}${sum.abandoned ? html` <span class="badge abandoned" id="run-abandoned" title="a client-driven run with no activity past budgets.clientIdleMs">abandoned: no activity since ${formatTime(sum.lastActivityAt)}</span>` : ""}
          </dd>
          <dt>Run</dt>
          <dd class="mono">${run.id}</dd>
          <dt>Mode</dt>
          <dd>
            ${run.mode} · origin
            <span id="run-origin">${run.origin}</span
            >${run.policy ? html` · policy <span class="mono">${run.policy}${run.policyVersion ? `@${run.policyVersion}` : ""}</span>` : ""}
          </dd>
          <dt>Started</dt>
          <dd>
            <time datetime="${new Date(run.createdAt).toISOString()}">${formatTime(run.createdAt)}</time>
          </dd>
          <dt>Duration</dt>
          <dd>${formatDuration(sum.durationMs)}${sum.finished ? "" : " so far"}</dd>
          <dt>Journal</dt>
          <dd>
            ${run.iterations} iteration${run.iterations === 1 ? "" : "s"} · ${sum.steps}
            step${sum.steps === 1 ? "" : "s"} ·
            <span class="${sum.failures ? "count-bad" : ""}"
              >${sum.failures} failure${sum.failures === 1 ? "" : "s"}</span
            >
            ·
            <span class="${sum.remediations ? "count-fix" : ""}"
              >${sum.remediations} remediation${sum.remediations === 1 ? "" : "s"}</span
            >
          </dd>
          ${
            steps.some((s) => s.kind === "llm")
              ? html`<dt>Tokens</dt>
                  <dd id="run-tokens">
                    ${sum.tokens.input.toLocaleString("en-US")} in ·
                    ${sum.tokens.output.toLocaleString("en-US")} out ·
                    ${(sum.tokens.input + sum.tokens.output).toLocaleString("en-US")} total
                  </dd>
                  <dt>Cost</dt>
                  <dd id="run-cost">
                    ${sum.costUsd === null ? html`<span class="muted">not priced (the provider reports no cost)</span>` : `$${sum.costUsd.toFixed(4)}`}
                  </dd>`
              : ""
          }
          ${lineageFacts(run, lineage.forks)}
        </dl>
        ${backoffNote(run)}
        ${
          run.failure
            ? html`<h2>Why the run failed</h2>
                ${failureBox(run.failure, "Run failure")}
                ${lastFailed ? html`<p><a href="${stepHref(run.id, lastFailed.seq)}">Open the failed step #${lastFailed.seq}</a></p>` : ""}`
            : ""
        }
        ${
          run.output !== null && run.output !== undefined
            ? html`<details>
                <summary>Output</summary>
                <pre class="out">${prettyJson(run.output)}</pre>
              </details>`
            : ""
        }
      </div>
      <div class="actions">
        <a class="button secondary" href="${runHref(run.id)}/export.jsonl" download>Export JSONL</a>
        ${
          run.mode === "hosted" && run.goal !== null
            ? html`<form
                method="post"
                action="/v1/runs"
                data-api="rerun"
                data-body="${JSON.stringify(rerunBody(run))}"
                id="rerun-form"
              >
                <button type="submit" class="secondary">Rerun</button>
                <output class="form-status" role="status"></output>
              </form>`
            : ""
        }
        ${
          run.status === "failed" || run.status === "waiting_for_input" || retryNote(run)
            ? html`<form method="post" action="${apiHref(run.id, "resume")}" data-api="resume">
                <button type="submit">${retryNote(run) ? "Retry the model now" : "Resume run"}</button>
                <output class="form-status" role="status"></output>
              </form>`
            : ""
        }
        ${
          sum.finished
            ? ""
            : html`<form method="post" action="${apiHref(run.id, "cancel")}" data-api="cancel">
                <button type="submit" class="danger">Cancel run</button>
                <output class="form-status" role="status"></output>
              </form>`
        }
      </div>
    </section>
    ${run.status === "waiting_for_input" ? waitingSection(run) : ""}
    ${lineage.parent ? forkComparison(run, steps, lineage.parent.run, lineage.parent.steps) : ""}
    <h2>Timeline</h2>
    ${timeline(run.id, steps, nowMs, run)}`;
}

/** A new hosted run with the same goal, model, tools and policy (what "Rerun" posts to /v1/runs). */
function rerunBody(run: RunRecord): Record<string, unknown> {
  return {
    mode: "hosted",
    goal: run.goal,
    ...(run.model ? { model: run.model } : {}),
    ...(run.tools ? { tools: run.tools } : {}),
    ...(run.policy ? { policy: run.policy } : {}),
    metadata: { ...(run.metadata ?? {}), rerunOf: run.id },
  };
}

/** Events shown in the history (the newest); the full stream is GET /v1/runs/{id}/events. */
const EVENT_HISTORY_MAX = 500;

/**
 * The run's event history, newest last: what a follower of GET /v1/runs/{id}/events saw.
 * @example eventHistory(events)
 */
export function eventHistory(events: EventRecord[]): Html {
  const shown = events.slice(-EVENT_HISTORY_MAX);
  return html`<details id="run-events">
    <summary>Event history (${events.length} event${events.length === 1 ? "" : "s"})</summary>
    ${events.length > shown.length ? html`<p class="muted">The ${shown.length} newest are shown.</p>` : ""}
    <table class="usage">
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Time</th>
          <th scope="col">Event</th>
          <th scope="col">Data</th>
        </tr>
      </thead>
      <tbody>
        ${shown.map(
          (e) =>
            html`<tr data-event-type="${e.type}">
              <td class="num">${e.id}</td>
              <td><time datetime="${new Date(e.at).toISOString()}">${formatTime(e.at)}</time></td>
              <td class="mono">${e.type}</td>
              <td class="mono">${clip(JSON.stringify(e.data) ?? "", 300)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </details>`;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

/**
 * The whole run page; `lastEventId` is where the client's event stream resumes.
 * @example c.html(runPage(run, steps, lastEventId, Date.now()))
 */
export function runPage(
  run: RunRecord,
  steps: StepRecord[],
  lastEventId: number,
  nowMs: number,
  lineage: Lineage = NO_LINEAGE,
  opts: { idleMs?: number | undefined; events?: EventRecord[] } = {},
): Html {
  const live = !summarizeRun(run, steps, nowMs).finished;
  const body = html`<nav aria-label="Breadcrumb" class="muted">
      <a href="/ui">Runs</a> › <span class="mono">${run.id}</span>
    </nav>
    <div
      id="run-live"
      data-run-id="${run.id}"
      data-live="${live ? "1" : "0"}"
      data-last-event-id="${lastEventId}"
      data-fragment-url="${runHref(run.id)}/live"
    >
      ${runLive(run, steps, nowMs, lineage, opts)}
    </div>
    ${opts.events ? eventHistory(opts.events) : ""}
    <p id="live-status" class="muted" role="status" aria-live="polite">
      ${live ? "Live: new steps appear as they happen." : ""}
    </p>
    <p class="kbd-help">
      Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous step · <kbd>Enter</kbd> open · <kbd>u</kbd> back to runs.
    </p>`;
  return layout({ title: run.goal ? `Run: ${run.goal.slice(0, 60)}` : `Run ${run.id}`, page: "run", body });
}
