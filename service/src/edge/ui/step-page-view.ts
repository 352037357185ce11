// The step page (/ui/runs/{id}/steps/{seq}): code with the failing line, output, files, usage vs limits, policy.
import { html } from "hono/html";
import { forkForm, replayedBadge } from "./fork-view.ts";
import type { RunRecord, StepRecord } from "../../store/records.ts";
import type { Html } from "./ui-html.ts";
import { layout, statusBadge } from "./ui-layout.ts";
import { formatBytes, formatDuration, formatTime, prettyJson } from "./ui-format.ts";
import { llmRequestSection, llmResponseSection, type LlmRequestView } from "./llm-step-view.ts";
import { codeBlock, languageOf, type CodeMark } from "./code-view.ts";
import { remediationSource, stepDurationMs } from "./run-summary.ts";
import { failureBox } from "./run-page-view.ts";
import { stepHref } from "./timeline-view.ts";
import { usageRows, type UsageRow } from "./usage-limits.ts";

type Bag = Record<string, unknown>;
const bag = (v: unknown): Bag => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Bag) : {});
const SHA256 = /^[0-9a-f]{64}$/;
const IMAGE = /\.(png|jpe?g|gif|webp|svg|bmp|avif)$/i;

/** A stdout/stderr value: inline text, or a link to the blob it was moved to when large. */
function textOrBlob(v: unknown, cls: string, label: string): Html {
  const ref = bag(v);
  if (typeof ref.$blob === "string" && SHA256.test(ref.$blob)) {
    const size = typeof ref.size === "number" ? ` (${formatBytes(ref.size)})` : "";
    return html`<p><a href="/v1/blobs/${ref.$blob}" download="${label}.txt">Download ${label}${size}</a></p>`;
  }
  if (typeof v !== "string" || v === "") return html`<p class="muted">(empty)</p>`;
  return html`<pre class="out ${cls}" tabindex="0" aria-label="${label}">${v}</pre>`;
}

function filesList(files: unknown): Html {
  if (!Array.isArray(files) || files.length === 0) return html`<p class="muted">No files.</p>`;
  const items = files.map((f) => {
    const b = bag(f);
    const sha = typeof b.sha256 === "string" && SHA256.test(b.sha256) ? b.sha256 : null;
    const path = typeof b.path === "string" ? b.path : "file";
    const size = typeof b.size === "number" ? formatBytes(b.size) : "";
    if (!sha)
      return html`<li><span class="mono">${path}</span> <span class="muted">${size} (not stored)</span></li>`;
    const href = `/v1/blobs/${sha}`;
    const name = path.split("/").pop() ?? path;
    return html`<li>
      <a href="${href}" download="${name}" class="mono">${path}</a> <span class="muted">${size}</span>
      ${IMAGE.test(path) ? html`<img src="${href}" alt="${path} (produced by this step)" loading="lazy" />` : ""}
    </li>`;
  });
  return html`<ul class="files">
    ${items}
  </ul>`;
}

function usageTable(rows: UsageRow[]): Html {
  if (rows.length === 0) return html`<p class="muted">No usage was recorded.</p>`;
  const fmt = (v: number | null, unit: UsageRow["unit"]) =>
    v === null
      ? "—"
      : unit === "ms"
        ? formatDuration(v)
        : `${Number.isInteger(v) ? v : v.toFixed(1)} ${unit === "calls" && v === 1 ? "call" : unit}`;
  return html`<table class="usage">
    <thead>
      <tr>
        <th scope="col">Resource</th>
        <th scope="col">Used</th>
        <th scope="col">Limit</th>
        <th scope="col"><span class="sr-only">Share of the limit</span></th>
      </tr>
    </thead>
    <tbody>
      ${rows.map((r) => {
        const over = r.used !== null && r.limit !== null && r.used >= r.limit;
        return html`<tr data-usage="${r.label}">
          <th scope="row">${r.label}</th>
          <td class="${over ? "over" : ""}">${fmt(r.used, r.unit)}</td>
          <td>
            ${fmt(r.limit, r.unit)}${r.limitSource ? html` <span class="muted">(${r.limitSource})</span>` : ""}
          </td>
          <td>
            ${
              r.used !== null && r.limit !== null && r.limit > 0
                ? html`<meter
                      min="0"
                      max="${r.limit}"
                      low="${r.limit * 0.7}"
                      high="${r.limit * 0.9}"
                      optimum="0"
                      value="${Math.min(r.used, r.limit)}"
                    >
                      ${Math.round((r.used / r.limit) * 100)}%
                    </meter>
                    ${Math.round((r.used / r.limit) * 100)}%`
                : ""
            }
          </td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

function policySection(step: StepRecord): Html {
  const a = bag(step.audit);
  if (!step.audit) return html`<p class="muted">No audit was recorded for this step.</p>`;
  const policy = typeof a.policy === "string" ? a.policy : "—";
  return html`<dl class="facts">
      <dt>Policy</dt>
      <dd class="mono">${policy}${typeof a.policyVersion === "string" ? `@${a.policyVersion}` : ""}</dd>
      <dt>Tenant</dt>
      <dd class="mono">${typeof a.tenant === "string" ? a.tenant : "—"}</dd>
      <dt>API key</dt>
      <dd class="mono">${typeof a.keyId === "string" ? a.keyId : "none (local)"}</dd>
    </dl>
    ${
      a.resolved !== undefined
        ? html`<h3>What the policy resolved</h3>
            <pre class="out">${prettyJson(a.resolved)}</pre>`
        : ""
    }`;
}

function inputSection(step: StepRecord): Html {
  const input = bag(step.input);
  const code = typeof input.code === "string" ? input.code : null;
  const loc = step.failure?.location;
  const mark: CodeMark | undefined =
    loc && typeof loc.line === "number"
      ? {
          line: loc.line,
          ...(typeof loc.column === "number" ? { column: loc.column } : {}),
          note: `${step.failure!.kind}: ${step.failure!.message}`,
        }
      : undefined;
  const { code: _code, ...rest } = input;
  return html`${code !== null ? codeBlock(code, languageOf(input), mark) : ""}
  ${
    Object.keys(rest).length > 0 || code === null
      ? html`<details ${code === null ? "open" : ""}>
          <summary>${code === null ? "Input" : "Other input fields"}</summary>
          <pre class="out">${prettyJson(code === null ? step.input : rest)}</pre>
        </details>`
      : ""
  }`;
}

function outputSection(step: StepRecord): Html {
  const out = bag(step.output);
  const logs = Array.isArray(out.logs) ? out.logs.map(String) : [];
  const calls = Array.isArray(out.toolCalls) ? out.toolCalls.map(bag) : [];
  const hasResult = "result" in out;
  return html`<h3>Result</h3>
    ${hasResult ? html`<pre class="out" id="step-result">${prettyJson(out.result)}</pre>` : html`<p class="muted">No result.</p>`}
    ${
      logs.length
        ? html`<h3>Console</h3>
            <pre class="out">${logs.join("\n")}</pre>`
        : ""
    }
    ${
      "stdout" in out || step.kind === "container"
        ? html`<h3>stdout</h3>
            ${textOrBlob(out.stdout, "stdout", "stdout")}`
        : ""
    }
    ${
      "stderr" in out || step.kind === "container"
        ? html`<h3>stderr</h3>
            ${textOrBlob(out.stderr, "stderr", "stderr")}`
        : ""
    }
    ${typeof out.exitCode === "number" ? html`<p>Exit code <span class="mono">${out.exitCode}</span></p>` : ""}
    <h3>Files</h3>
    ${filesList(out.files)}
    ${
      calls.length
        ? html`<h3>Tool calls</h3>
            <table class="usage">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Tool</th>
                  <th scope="col">Status</th>
                  <th scope="col">Time</th>
                  <th scope="col">From</th>
                </tr>
              </thead>
              <tbody>
                ${calls.map(
                  (c) =>
                    html`<tr>
                      <td>${typeof c.seq === "number" ? c.seq : ""}</td>
                      <td class="mono">${typeof c.tool === "string" ? c.tool : ""}</td>
                      <td>${statusBadge(c.status === "failed" ? "failed" : "succeeded")}</td>
                      <td>${typeof c.ms === "number" ? formatDuration(c.ms) : ""}</td>
                      <td>
                        ${c.cached ? html`<span class="badge cached">cache</span>` : ""}${c.replayed ? html`<span class="badge replayed">journal</span>` : ""}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
        : ""
    }`;
}

/**
 * The whole step page.
 * @example c.html(stepPage(run, steps, step, Date.now()))
 */
export function stepPage(
  run: RunRecord,
  steps: StepRecord[],
  step: StepRecord,
  nowMs: number,
  opts: { llmRequest?: LlmRequestView | null } = {},
): Html {
  const llm = step.kind === "llm";
  const i = steps.findIndex((s) => s.seq === step.seq);
  const prev = steps[i - 1];
  const next = steps[i + 1];
  const from = remediationSource(step);
  const retriedBy = steps.find((s) => remediationSource(s) === step.seq);
  const runHref = `/ui/runs/${encodeURIComponent(run.id)}`;
  const body = html`<nav aria-label="Breadcrumb" class="muted">
      <a href="/ui">Runs</a> › <a href="${runHref}">${run.goal ? run.goal.slice(0, 80) : run.id}</a> › step
      #${step.seq}
    </nav>
    <h1>Step #${step.seq} · ${step.kind} · <span class="mono">${step.key}</span></h1>
    <dl class="facts card">
      <dt>Status</dt>
      <dd id="step-status">
        ${statusBadge(step.status)}${step.cached ? html`<span class="badge cached">cached</span>` : ""}
        ${replayedBadge(step)}
      </dd>
      <dt>Attempt</dt>
      <dd>${step.attempt}</dd>
      <dt>Started</dt>
      <dd><time datetime="${new Date(step.startedAt).toISOString()}">${formatTime(step.startedAt)}</time></dd>
      <dt>Duration</dt>
      <dd>${formatDuration(stepDurationMs(step, nowMs))}${step.endedAt === null ? " so far" : ""}</dd>
      ${
        from !== null
          ? html`<dt>Remediation</dt>
              <dd>
                automatic retry of <a href="${stepHref(run.id, from)}">step #${from}</a>:
                <span class="mono">${JSON.stringify(step.remediation)}</span>
              </dd>`
          : ""
      }
      ${
        retriedBy
          ? html`<dt>Retried by</dt>
              <dd><a href="${stepHref(run.id, retriedBy.seq)}">step #${retriedBy.seq}</a></dd>`
          : ""
      }
    </dl>
    ${forkForm(run, step.seq)}
    ${
      step.failure
        ? html`<section aria-labelledby="failure-title">
            <h2 id="failure-title">Failure</h2>
            ${failureBox(step.failure, "Step failure")}
            <details>
              <summary>The structured failure (JSON)</summary>
              <pre class="out" id="failure-json">${prettyJson(step.failure)}</pre>
            </details>
          </section>`
        : ""
    }
    <div class="grid2">
      <section aria-labelledby="input-title">
        <h2 id="input-title">${llm ? "Request" : "Input"}</h2>
        ${llm ? llmRequestSection(step, opts.llmRequest ?? null) : inputSection(step)}
      </section>
      <div>
        <section aria-labelledby="usage-title">
          <h2 id="usage-title">Usage against limits</h2>
          ${usageTable(usageRows(step))}
        </section>
        <section aria-labelledby="policy-title">
          <h2 id="policy-title">Policy that applied</h2>
          ${policySection(step)}
        </section>
      </div>
    </div>
    <section aria-labelledby="output-title">
      <h2 id="output-title">${llm ? "Response" : "Output"}</h2>
      ${llm ? llmResponseSection(step) : outputSection(step)}
    </section>
    <nav aria-label="Steps" style="margin-top:1.5rem;display:flex;gap:1rem">
      ${prev ? html`<a href="${stepHref(run.id, prev.seq)}" rel="prev">← step #${prev.seq}</a>` : ""}
      <a href="${runHref}#step-${step.seq}">Back to the timeline</a>
      ${next ? html`<a href="${stepHref(run.id, next.seq)}" rel="next">step #${next.seq} →</a>` : ""}
    </nav>`;
  return layout({ title: `Step #${step.seq} of ${run.id}`, page: "step", body });
}
