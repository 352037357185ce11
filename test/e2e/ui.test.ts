// The run inspector end to end: real service, seeded journal, real headless chromium clicking through the pages.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { launchChromium, screenshot } from "../support/ui-browser.ts";
import { seedInspectorRuns, type SeededRuns } from "../support/ui-seed.ts";

const WAIT_MS = 15_000;

describe("run inspector", () => {
  let svc: ServiceProcess;
  let browser: Browser;
  let page: Page;
  let seeded: SeededRuns;
  const pageErrors: string[] = [];

  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const res = await fetch(`${svc.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
  }

  // Browser-side code is written as strings: the repository's TypeScript config has no DOM library.
  const inPage = <T>(expression: string) => page.evaluate<T>(expression);
  /** Sets a marker on window; if the page reloads, the marker is gone. */
  const markPage = () => inPage<boolean>("window.__noReload = true");
  const stillSamePage = () => inPage<boolean>("window.__noReload === true");

  before(async () => {
    // Fails (never skips) with instructions when chromium is missing.
    browser = await launchChromium();
    const dataDir = mkdtempSync(join(tmpdir(), "mend-ui-"));
    seeded = await seedInspectorRuns(dataDir);
    svc = await startService({}, dataDir);
    // CSP is bypassed so the XSS test proves escaping itself (CSP would also stop an injected <script>),
    // and so Playwright may evaluate its string predicates; the header itself is checked separately.
    page = await browser.newPage({ viewport: { width: 1366, height: 900 }, bypassCSP: true });
    page.setDefaultTimeout(WAIT_MS);
    page.on("pageerror", (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await svc?.stop();
  });

  it("lists every run with its status, goal, mode and journal counts", async () => {
    await page.goto(`${svc.url}/ui`);
    const row = page.locator(`tr[data-run-id="${seeded.failed}"]`);
    await row.waitFor();
    assert.equal(await page.locator("#runs-body tr").count(), 4);
    const cells = (await row.locator("td").allInnerTexts()).map((t) => t.trim());
    assert.equal(cells[0], "failed");
    assert.match(cells[1]!, /Summarise the Q3 sales CSV/);
    assert.equal(cells[2], "hosted");
    assert.deepEqual(cells.slice(5), ["3", "5", "2", "1"], "iterations, steps, failures, remediations");
    assert.equal(
      await page.locator(`tr[data-run-id="${seeded.waiting}"] .status`).innerText(),
      "waiting for input",
    );
    await screenshot(page, "runs-list");
    assert.deepEqual(pageErrors, []);
  });

  it("narrows the list by status and by text without reloading, and the export link follows the status", async () => {
    await page.goto(`${svc.url}/ui`);
    await markPage();
    await page.selectOption("#filter-status", "failed");
    await page.waitForFunction('document.querySelectorAll("#runs-body tr").length === 1');
    assert.equal(await page.locator("#runs-body tr").getAttribute("data-run-id"), seeded.failed);
    assert.match(
      (await page.locator("#export-link").getAttribute("href"))!,
      /^\/v1\/runs\/export\?format=jsonl&status=failed$/,
    );
    assert.match(page.url(), /status=failed/);

    await page.selectOption("#filter-status", "");
    await page.fill("#filter-q", "billing");
    await page.waitForFunction(
      `(() => { const rows = document.querySelectorAll("#runs-body tr");
        return rows.length === 1 && rows[0].getAttribute("data-run-id") === ${JSON.stringify(seeded.succeeded)}; })()`,
    );
    await page.fill("#filter-q", "no run has this text");
    await page.locator(".empty").waitFor();
    assert.equal(await stillSamePage(), true, "filtering must not reload the page");
  });

  it("shows a failed step's kind in red on the timeline, the remediation arrow, and collapsible LLM turns", async () => {
    await page.goto(`${svc.url}/ui/runs/${seeded.failed}`);
    assert.equal(await page.locator('li[data-seq="2"] .fkind').innerText(), "out_of_memory");
    assert.equal(await page.locator('li[data-seq="5"] .fkind').innerText(), "runtime_error");
    assert.equal(await page.locator('li[data-seq="5"]').getAttribute("class"), "failed");
    assert.equal(
      await inPage<string>(`getComputedStyle(document.querySelector('li[data-seq="5"] .fkind')).color`),
      "rgb(180, 35, 24)",
    );
    assert.match(
      await page.locator('li[data-seq="3"]').innerText(),
      /automatic retry of #2 after out_of_memory: increase_memory \(memoryMb 256\)/,
    );
    await page.locator('svg.arrows path[data-from="2"][data-to="3"]').waitFor({ state: "attached" });

    const llm = page.locator('li[data-seq="1"] details.llm');
    assert.equal(await llm.getAttribute("open"), null);
    await page.locator('li[data-seq="1"] details.llm > summary').click();
    assert.equal(await llm.getAttribute("open"), "");
    assert.match(await llm.innerText(), /You are an analyst/);
    await screenshot(page, "run-timeline");
  });

  it("opens a failed step with its failure kind, the failing line marked, usage against limits and the policy", async () => {
    await page.goto(`${svc.url}/ui/runs/${seeded.failed}`);
    await page.getByRole("link", { name: /summarise/ }).click();
    await page.waitForURL(/\/steps\/5$/);
    const failing = page.locator("pre.code .line.failing");
    assert.equal(await failing.count(), 1);
    assert.equal(await failing.getAttribute("data-line"), "4");
    assert.match(await failing.innerText(), /rows\.value\[b\]\.total/);
    assert.match(await page.locator("pre.code .line-note").innerText(), /line 4:58: runtime_error/);
    assert.equal(await page.locator(".failure-box .fkind").innerText(), "runtime_error");
    assert.match(
      await page.locator('tr[data-usage="Memory peak"]').innerText(),
      /3\.2 MiB\s+32 MiB \(policy\)/,
    );
    assert.match(await page.locator("#policy-title + dl").innerText(), /default@seed/);
    await screenshot(page, "step-failure");

    await page.goto(`${svc.url}/ui/runs/${seeded.failed}/steps/3`);
    const img = page.locator('ul.files img[alt^="out/revenue.png"]');
    await img.waitFor();
    await page.waitForFunction('document.querySelector("ul.files img")?.naturalWidth === 320');
    assert.equal(await page.locator("ul.files a", { hasText: "out/summary.csv" }).count(), 1);
    assert.match(await page.locator('tr[data-usage="Memory peak"]').innerText(), /201\.5 MiB\s+256 MiB/);
    await screenshot(page, "step-files");
  });

  it("shows a goal containing markup as text and never runs it", async () => {
    await page.goto(`${svc.url}/ui`);
    await page.locator(`tr[data-run-id="${seeded.xss}"]`).waitFor();
    assert.equal(await page.locator(`tr[data-run-id="${seeded.xss}"] td.goal a`).innerText(), seeded.xssGoal);
    await page.goto(`${svc.url}/ui/runs/${seeded.xss}`);
    assert.equal(await page.locator("h1").innerText(), seeded.xssGoal);
    await page.goto(`${svc.url}/ui/runs/${seeded.xss}/steps/1`);
    assert.match(await page.locator("#step-result").innerText(), /<svg onload=/);
    assert.equal(await inPage<unknown>("window.__xss"), undefined);
    assert.equal(await page.locator("main script, main img[src=x], main svg[onload]").count(), 0);
    const res = await fetch(`${svc.url}/ui/runs/${seeded.xss}`);
    assert.match(
      res.headers.get("content-security-policy") ?? "",
      /script-src 'self'/,
      "pages also carry a CSP",
    );
  });

  it("answers a waiting run from its form", async () => {
    await page.goto(`${svc.url}/ui/runs/${seeded.waiting}`);
    assert.match(await page.locator(".waiting").innerText(), /No room is free on Thursday/);
    await page.getByLabel("Your answer").fill("Try Friday morning");
    await screenshot(page, "run-waiting");
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/v1/runs/${seeded.waiting}/input`)),
      page.getByRole("button", { name: "Send answer" }).click(),
    ]);
    assert.ok(res.ok(), `POST /input answered ${res.status()}: ${await res.text()}`);
    assert.deepEqual(JSON.parse(res.request().postData() ?? "null"), { input: "Try Friday morning" });
    await page.waitForFunction(
      'document.querySelector("#run-status")?.getAttribute("data-status") !== "waiting_for_input"',
    );
    const run = await api<{ status: string }>("GET", `/v1/runs/${seeded.waiting}`);
    assert.notEqual(run.json.status, "waiting_for_input");
    await page.locator('li[data-kind="human"]', { hasText: "Try Friday morning" }).waitFor();
    await screenshot(page, "run-answered");
  });

  it("shows new steps of an open run, and new runs on the list, without a reload; a running run can be cancelled", async () => {
    const created = await api<{ id: string }>("POST", "/v1/runs", {
      mode: "client",
      goal: "Crawl the changelog pages",
    });
    assert.equal(created.status, 201);
    const id = created.json.id;
    await page.goto(`${svc.url}/ui/runs/${id}`);
    await page.locator(".empty", { hasText: "No steps yet" }).waitFor();
    await markPage();

    const first = await api<{ status: string }>("POST", `/v1/runs/${id}/steps`, {
      key: "fetch-page-1",
      action: { type: "codemode", code: "const pages = [1, 2, 3];\nreturn pages.length * 2;" },
    });
    assert.equal(first.status, 200);
    await page.locator('li[data-seq="1"]').waitFor();
    assert.match(await page.locator('li[data-seq="1"]').innerText(), /fetch-page-1/);
    await api("POST", `/v1/runs/${id}/steps`, {
      key: "fetch-page-2",
      action: { type: "codemode", code: "return 'page 2';" },
    });
    await page.locator('li[data-seq="2"]').waitFor();
    assert.match(await page.locator("#live-status").innerText(), /Step #2/);
    assert.equal(await stillSamePage(), true, "live updates must not reload the page");
    await screenshot(page, "run-live");

    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.locator('#run-status[data-status="cancelled"]').waitFor();
    assert.equal((await api<{ status: string }>("GET", `/v1/runs/${id}`)).json.status, "cancelled");

    await page.goto(`${svc.url}/ui`);
    await page.locator("#runs-body tr").first().waitFor();
    await markPage();
    const fresh = await api<{ id: string }>("POST", "/v1/runs", {
      mode: "client",
      goal: "A run created while the list is open",
    });
    await page.locator(`tr[data-run-id="${fresh.json.id}"]`).waitFor();
    assert.equal(await stillSamePage(), true);
  });

  it("exports a run's journal as JSONL, one step per line", async () => {
    const res = await page.request.get(`${svc.url}/ui/runs/${seeded.failed}/export.jsonl`);
    assert.equal(res.status(), 200);
    assert.match(res.headers()["content-type"] ?? "", /application\/x-ndjson/);
    assert.match(
      res.headers()["content-disposition"] ?? "",
      /attachment; filename="run_seed_failed_q3\.steps\.jsonl"/,
    );
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { seq: number; runId: string; kind: string });
    assert.deepEqual(
      lines.map((l) => l.seq),
      [1, 2, 3, 4, 5],
    );
    assert.equal(lines[1]!.kind, "container");
    assert.ok(lines.every((l) => l.runId === seeded.failed));
    await page.goto(`${svc.url}/ui/runs/${seeded.failed}`);
    assert.equal(
      await page.getByRole("link", { name: "Export JSONL" }).getAttribute("href"),
      `/ui/runs/${seeded.failed}/export.jsonl`,
    );
  });

  it("can be used with the keyboard: / searches, j moves between runs, Enter opens, focus is visible", async () => {
    await page.goto(`${svc.url}/ui`);
    await page.locator("#runs-body tr").first().waitFor();
    await page.keyboard.press("/");
    assert.equal(await inPage<string>("document.activeElement?.id"), "filter-q");
    await page.keyboard.press("Escape");
    await page.keyboard.press("j");
    const focused = await inPage<{ href: string | null; outline: string }>(
      '({ href: document.activeElement.getAttribute("href"), outline: getComputedStyle(document.activeElement).outlineStyle })',
    );
    assert.match(focused.href ?? "", /^\/ui\/runs\//);
    assert.notEqual(focused.outline, "none", "the focused row link shows a focus ring");
    await page.keyboard.press("Enter");
    await page.waitForURL(new RegExp(`${focused.href}$`));
    await page.keyboard.press("u");
    await page.waitForURL(/\/ui$/);
    assert.deepEqual(pageErrors, []);
  });

  it("answers an unknown run or step with a readable 404 page", async () => {
    const run = await page.goto(`${svc.url}/ui/runs/run_does_not_exist`);
    assert.equal(run?.status(), 404);
    assert.match(await page.locator("main").innerText(), /run run_does_not_exist does not exist/);
    const step = await page.goto(`${svc.url}/ui/runs/${seeded.failed}/steps/99`);
    assert.equal(step?.status(), 404);
  });
});
