// The runs list (/ui): filters, the table of runs with their counts, export, and the live-refreshed region.
import { html } from "hono/html";
import type { Html } from "./ui-html.ts";
import { layout, statusBadge } from "./ui-layout.ts";
import { formatDuration, formatTime } from "./ui-format.ts";
import { RUN_ORIGINS, RUN_STATUSES, TEXT_SCAN_LIMIT, type RunFilters, type RunRow } from "./ui-data.ts";

/**
 * The export link for the current filter: the service's trajectory export (status filter applies).
 * @example exportHref({ status: "failed", q: "" }) // "/v1/runs/export?format=jsonl&status=failed"
 */
export function exportHref(f: RunFilters): string {
  return `/v1/runs/export?format=jsonl${f.status ? `&status=${encodeURIComponent(f.status)}` : ""}`;
}

function query(f: RunFilters, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  if (f.status) p.set("status", f.status);
  if (f.q) p.set("q", f.q);
  if (f.origin) p.set("origin", f.origin);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : "";
}

function row({ run, summary }: RunRow): Html {
  const goal =
    run.goal ??
    (run.origin === "mcp" ? "(MCP execution)" : run.implicit ? "(one-off execution)" : "(no goal)");
  return html`<tr data-run-id="${run.id}" data-status="${run.status}" data-origin="${run.origin}">
    <td>
      ${statusBadge(run.status)}${summary.abandoned ? html` <span class="badge abandoned" title="no activity for a long time">abandoned</span>` : ""}
    </td>
    <td class="goal">
      <a href="/ui/runs/${encodeURIComponent(run.id)}" data-nav>${goal}</a>
      <div class="muted mono">${run.id}</div>
    </td>
    <td>${run.origin}</td>
    <td><time datetime="${new Date(run.createdAt).toISOString()}">${formatTime(run.createdAt)}</time></td>
    <td class="num">
      ${formatDuration(summary.durationMs)}${summary.finished ? "" : html`<span class="muted"> …</span>`}
    </td>
    <td class="num">${run.iterations}</td>
    <td class="num">${summary.steps}</td>
    <td class="num">${summary.failures ? html`<span class="count-bad">${summary.failures}</span>` : "0"}</td>
    <td class="num">
      ${summary.remediations ? html`<span class="count-fix">${summary.remediations}</span>` : "0"}
    </td>
  </tr>`;
}

/**
 * The part of the list page the client script re-fetches (count, table, next-page link).
 * @example c.html(runsRegion(rows, null, filters))
 */
export function runsRegion(rows: RunRow[], nextCursor: string | null, f: RunFilters): Html {
  const label = `${rows.length} run${rows.length === 1 ? "" : "s"}${f.status || f.q ? " match the filters" : ""}`;
  return html`<p class="muted" id="runs-count" data-count="${rows.length}">
      ${label}${f.q ? ` (searching the ${TEXT_SCAN_LIMIT} most recent)` : ""}
    </p>
    ${
      rows.length === 0
        ? html`<div class="card empty">No runs${f.status || f.q ? " match these filters" : " yet"}.</div>`
        : html`<table class="runs">
            <caption class="sr-only">
              Runs, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Goal</th>
                <th scope="col">Origin</th>
                <th scope="col">Started</th>
                <th scope="col" class="num">Duration</th>
                <th scope="col" class="num">Iterations</th>
                <th scope="col" class="num">Steps</th>
                <th scope="col" class="num">Failures</th>
                <th scope="col" class="num">Remediations</th>
              </tr>
            </thead>
            <tbody id="runs-body">
              ${rows.map(row)}
            </tbody>
          </table>`
    }
    ${nextCursor ? html`<p><a class="button secondary" href="/ui${query(f, { cursor: nextCursor })}">Older runs →</a></p>` : ""}`;
}

/**
 * The whole list page.
 * @example c.html(runsPage(rows, nextCursor, filters))
 */
export function runsPage(rows: RunRow[], nextCursor: string | null, f: RunFilters): Html {
  const options = RUN_STATUSES.map(
    (s) => html`<option value="${s}" ${f.status === s ? "selected" : ""}>${s.replaceAll("_", " ")}</option>`,
  );
  const body = html`<h1>Runs</h1>
    <form class="filters" id="run-filters" method="get" action="/ui" role="search" aria-label="Filter runs">
      <label
        >Status
        <select name="status" id="filter-status">
          <option value="">all</option>
          ${options}
        </select>
      </label>
      <label
        >Search goal, id, failure kind
        <input
          type="search"
          name="q"
          id="filter-q"
          value="${f.q}"
          aria-keyshortcuts="/"
          placeholder="Press / to search"
        />
      </label>
      <label
        >Origin
        <select name="origin" id="filter-origin">
          <option value="">all</option>
          ${RUN_ORIGINS.map((o) => html`<option value="${o}" ${f.origin === o ? "selected" : ""}>${o}</option>`)}
        </select>
      </label>
      <button type="submit">Apply</button>
      <a class="button secondary" id="export-link" href="${exportHref(f)}" download>Export JSONL</a>
    </form>
    <div id="runs-region" data-live-url="/ui/fragments/runs${query(f)}">
      ${runsRegion(rows, nextCursor, f)}
    </div>
    <p class="kbd-help">
      Keys: <kbd>/</kbd> search · <kbd>j</kbd>/<kbd>k</kbd> next/previous run · <kbd>Enter</kbd> open. The
      list refreshes itself every few seconds.
    </p>`;
  return layout({ title: "Runs", page: "runs", body });
}
