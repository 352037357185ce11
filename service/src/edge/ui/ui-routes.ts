// /ui: the run inspector, server-rendered pages plus one small client script, behind the API's auth.
import { readFileSync } from "node:fs";
import { Hono, type Context } from "hono";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { Rejection } from "../../core/rejection.ts";
import { html } from "hono/html";
import type { Html } from "./ui-html.ts";
import { layout } from "./ui-layout.ts";
import { loadLineage, loadRun, loadRunRows, parseFilters } from "./ui-data.ts";
import { runsPage, runsRegion } from "./runs-list-view.ts";
import { runLive, runPage } from "./run-page-view.ts";
import { stepPage } from "./step-page-view.ts";
import { LLM_REQUEST_INLINE_MAX_BYTES, llmRequestRef, type LlmRequestView } from "./llm-step-view.ts";
import { isKeptRequest, rebuildRequest } from "../../loop/kept-request.ts";
import type { StepRecord } from "../../store/records.ts";
import { stepsJsonl } from "./step-export.ts";
import { loginPage } from "./login-view.ts";
import { KEY_COOKIE } from "../../auth/key-cookie.ts";
import { ApiKeys } from "../../auth/api-keys.ts";
import { setCookie } from "hono/cookie";

/** The client script, read once at start-up (a real .js file, so it is linted and syntax-checked). */
const SCRIPT = readFileSync(new URL("./assets/inspector.js", import.meta.url), "utf8");

/** Pages run only our script; styles are inline (and bars use style attributes); data never becomes markup. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

function page(c: Context<AppEnv>, body: Html, status: 200 | 404 = 200): Response | Promise<Response> {
  c.header("content-security-policy", CSP);
  c.header("cache-control", "no-store");
  c.header("x-content-type-options", "nosniff");
  c.header("referrer-policy", "same-origin");
  return c.html(body, status);
}

function notFound(c: Context<AppEnv>, what: string): Response | Promise<Response> {
  const body = html`<h1>Not found</h1>
    <p>${what}</p>
    <p><a href="/ui">Back to the runs</a></p>`;
  return page(c, layout({ title: "Not found", page: "runs", body }), 404);
}

/**
 * An LLM step's kept request (kept-request.ts: the head blob and the messages' deltas along the run's steps;
 * older steps: one blob of the whole request), when it is small enough to render.
 */
async function keptRequest(
  s: Services,
  step: StepRecord,
  steps: StepRecord[],
): Promise<LlmRequestView | null> {
  const kept = step.kind === "llm" ? step.audit?.request : undefined;
  if (isKeptRequest(kept)) {
    const byKey = new Map(steps.map((st) => [st.key, st]));
    const request = await rebuildRequest(
      kept,
      (key) => byKey.get(key)?.audit?.request,
      (sha) => s.blobs.get(sha),
    );
    const size = request ? kept.head.size + JSON.stringify(request.messages).length : 0;
    return request && size <= LLM_REQUEST_INLINE_MAX_BYTES ? request : null;
  }
  const ref = step.kind === "llm" ? llmRequestRef(step) : null;
  if (!ref || ref.size > LLM_REQUEST_INLINE_MAX_BYTES) return null;
  const raw = await s.blobs.get(ref.blob);
  if (!raw) return null;
  try {
    return JSON.parse(raw.toString("utf8")) as LlmRequestView;
  } catch {
    return null;
  }
}

/**
 * The inspector's routes, mounted at /ui by the app (after authentication).
 * @example app.route("/ui", uiRoutes(services))
 */
export function uiRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.onError((err, c) => {
    if (err instanceof Rejection && err.reason === "not_found") return notFound(c, err.message);
    throw err;
  });

  r.get("/login", (c) => page(c, loginPage()));
  r.post("/login", async (c) => {
    const form = await c.req.parseBody();
    const key = typeof form.key === "string" ? form.key.trim() : "";
    const who = await new ApiKeys(s.store).identify(`Bearer ${key}`);
    if (who.kind !== "key")
      return page(c, loginPage(who.kind === "refused" ? who.detail : "no API keys are configured"));
    setCookie(c, KEY_COOKIE, key, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: c.req.url.startsWith("https:"),
    });
    return c.redirect("/ui");
  });

  r.get("/assets/inspector.js", (c) =>
    c.body(SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" }),
  );

  r.get("/", async (c) => {
    const f = parseFilters(c.req.query());
    const { rows, nextCursor } = await loadRunRows(s.store, c.get("caller"), f, Date.now());
    return page(c, runsPage(rows, nextCursor, f));
  });
  r.get("/fragments/runs", async (c) => {
    const f = parseFilters(c.req.query());
    const { rows, nextCursor } = await loadRunRows(s.store, c.get("caller"), f, Date.now());
    return page(c, runsRegion(rows, nextCursor, f));
  });

  r.get("/runs/:id", async (c) => {
    const who = c.get("caller");
    const { run, steps, lastEventId, events } = await loadRun(s.store, who, c.req.param("id"));
    const lineage = await loadLineage(s.store, who, run);
    const idleMs = who.policy.budgets.clientIdleMs;
    return page(c, runPage(run, steps, lastEventId, Date.now(), lineage, { idleMs, events }));
  });
  r.get("/runs/:id/live", async (c) => {
    const who = c.get("caller");
    const { run, steps } = await loadRun(s.store, who, c.req.param("id"));
    c.header("x-run-status", run.status);
    const lineage = await loadLineage(s.store, who, run);
    return page(c, runLive(run, steps, Date.now(), lineage, { idleMs: who.policy.budgets.clientIdleMs }));
  });
  r.get("/runs/:id/export.jsonl", async (c) => {
    const { run, steps } = await loadRun(s.store, c.get("caller"), c.req.param("id"));
    const name = run.id.replace(/[^\w.-]/g, "_");
    return c.body(stepsJsonl(run.id, steps), 200, {
      "content-type": "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="${name}.steps.jsonl"`,
      "cache-control": "no-store",
    });
  });
  r.get("/runs/:id/steps/:seq", async (c) => {
    const { run, steps } = await loadRun(s.store, c.get("caller"), c.req.param("id"));
    const raw = c.req.param("seq");
    const step = /^\d{1,9}$/.test(raw) ? steps.find((st) => st.seq === Number(raw)) : undefined;
    if (!step) return notFound(c, `run ${run.id} has no step #${raw}`);
    return page(c, stepPage(run, steps, step, Date.now(), { llmRequest: await keptRequest(s, step, steps) }));
  });
  return r;
}
