// The page shell shared by every inspector view: head, skip link, top bar, inline CSS, the client script.
import { html, raw } from "hono/html";
import type { Html } from "./ui-html.ts";
import { UI_CSS } from "./ui-styles.ts";

/** Where the client script is served (see ui-routes.ts). */
export const SCRIPT_PATH = "/ui/assets/inspector.js";

/**
 * A whole HTML document around `body`; `page` names the view for the client script.
 * @example c.html(layout({ title: "Runs", page: "runs", body: html`<h1>Runs</h1>` }))
 */
export function layout(opts: { title: string; page: "runs" | "run" | "step"; body: Html }): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <link rel="icon" href="data:," />
        <title>${opts.title} · Mend inspector</title>
        <style>
          ${raw(UI_CSS)}
        </style>
        <script src="${SCRIPT_PATH}" defer></script>
      </head>
      <body data-page="${opts.page}">
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a href="/ui">Mend · run inspector</a>
          <nav aria-label="Inspector"><a href="/ui">Runs</a></nav>
        </header>
        <main id="main" tabindex="-1">${opts.body}</main>
      </body>
    </html>`;
}

/**
 * A status pill; the text is the status itself so it reads without colour.
 * @example statusBadge("failed")
 */
export function statusBadge(status: string): Html {
  return html`<span class="status status-${status}">${status.replaceAll("_", " ")}</span>`;
}
