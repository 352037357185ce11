// An LLM step's page sections: the whole request the model was sent, and its answer with tokens.
import { html } from "hono/html";
import type { StepRecord } from "../../store/records.ts";
import type { Html } from "./ui-html.ts";
import { prettyJson } from "./ui-format.ts";
import { isKeptRequest } from "../../loop/kept-request.ts";

/** The request of one model turn as the loop kept it (audit.request, rebuilt by loop/kept-request.ts). */
export interface LlmRequestView {
  model?: string;
  system?: string;
  tools?: { name?: string; description?: string }[];
  messages?: { role?: string; content?: unknown; toolCalls?: unknown; toolCallId?: string }[];
}

/** Largest kept request the page renders inline; a larger one is linked as its blob. */
export const LLM_REQUEST_INLINE_MAX_BYTES = 2 * 1024 * 1024;

/** Where the step's kept request is, if the loop recorded one. */
export function llmRequestRef(step: StepRecord): { blob: string; size: number } | null {
  const r = step.audit?.request as { blob?: unknown; size?: unknown } | undefined;
  return r && typeof r.blob === "string" && /^[0-9a-f]{64}$/.test(r.blob) && typeof r.size === "number"
    ? { blob: r.blob, size: r.size }
    : null;
}

const text = (v: unknown) => (typeof v === "string" ? v : prettyJson(v));

/**
 * The request section: system prompt, the tools offered, every message.
 * @example llmRequestSection(step, JSON.parse(blobText))
 */
export function llmRequestSection(step: StepRecord, request: LlmRequestView | null): Html {
  const ref = llmRequestRef(step);
  const kept = step.audit?.request;
  if (!request) {
    return html`${ref ? html`<p class="muted">The request (${ref.size} bytes) is too large to show here: <a href="/v1/blobs/${ref.blob}">open it as JSON</a>.</p>` : isKeptRequest(kept) ? html`<p class="muted">The request (${kept.messages} messages) is too large to show here, or a step it builds on is not in this run; its system prompt and tools: <a href="/v1/blobs/${kept.head.blob}">open them as JSON</a>.</p>` : html`<p class="muted">This turn's full request was not recorded (a run from before requests were kept).</p>`}
      <details>
        <summary>Journaled input</summary>
        <pre class="out">${prettyJson(step.input)}</pre>
      </details>`;
  }
  const tools = request.tools ?? [];
  const messages = request.messages ?? [];
  return html`<div id="llm-request">
    ${request.model ? html`<p>Model <span class="mono">${request.model}</span></p>` : ""}
    <h3>System prompt</h3>
    <pre class="out" id="llm-system">${request.system ?? ""}</pre>
    <h3>Tools offered (${tools.length})</h3>
    <ul id="llm-tools">
      ${tools.map(
        (t) =>
          html`<li>
            <span class="mono">${t.name ?? "?"}</span>${t.description ? html` — ${t.description}` : ""}
          </li>`,
      )}
    </ul>
    <h3>Messages (${messages.length})</h3>
    <ol id="llm-messages">
      ${messages.map(
        (m) =>
          html`<li data-role="${m.role ?? ""}">
            <strong>${m.role ?? "?"}</strong
            >${m.toolCallId ? html` <span class="muted mono">(${m.toolCallId})</span>` : ""}
            <pre class="out">${text(m.content ?? "")}</pre>
            ${m.toolCalls ? html`<pre class="out">${prettyJson(m.toolCalls)}</pre>` : ""}
          </li>`,
      )}
    </ol>
    ${ref ? html`<p><a href="/v1/blobs/${ref.blob}">The request as JSON</a></p>` : ""}
  </div>`;
}

/**
 * The response section: the model's text, the calls it asked for, why it stopped and its tokens.
 * @example llmResponseSection(step)
 */
export function llmResponseSection(step: StepRecord): Html {
  const out = (step.output ?? {}) as {
    content?: unknown;
    toolCalls?: unknown[];
    finishReason?: unknown;
  };
  const usage = step.usage ?? {};
  const calls = Array.isArray(out.toolCalls) ? out.toolCalls : [];
  if (step.output === null || step.output === undefined)
    return html`<p class="muted">
      No answer${step.failure ? ": the call failed (see the failure above)" : " yet"}.
    </p>`;
  return html`<div id="llm-response">
    <h3>Answer</h3>
    ${
      typeof out.content === "string" && out.content.length > 0
        ? html`<pre class="out" id="llm-content">${out.content}</pre>`
        : typeof out.content === "object" && out.content !== null
          ? html`<pre class="out" id="llm-content">${prettyJson(out.content)}</pre>`
          : html`<p class="muted">No text.</p>`
    }
    ${
      calls.length
        ? html`<h3>Tool calls asked for (${calls.length})</h3>
            <pre class="out" id="llm-tool-calls">${prettyJson(calls)}</pre>`
        : ""
    }
    <dl class="facts">
      <dt>Finish reason</dt>
      <dd class="mono">${typeof out.finishReason === "string" ? out.finishReason : "—"}</dd>
      <dt>Tokens</dt>
      <dd id="llm-tokens">
        ${typeof usage.inputTokens === "number" ? usage.inputTokens : "?"} in ·
        ${typeof usage.outputTokens === "number" ? usage.outputTokens : "?"} out
      </dd>
      <dt>Cost</dt>
      <dd>
        ${typeof usage.costUsd === "number" ? `$${usage.costUsd.toFixed(4)}` : html`<span class="muted">not priced</span>`}
      </dd>
    </dl>
  </div>`;
}
