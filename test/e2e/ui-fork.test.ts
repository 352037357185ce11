// The inspector's forks in a real headless chromium: "Fork from here" on a step of a finished hosted run
// (a scripted model over HTTP), the fork's page with its parent link, replayed badges and the side-by-side
// view, and the parent's page listing the fork.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { launchChromium, screenshot } from "../support/ui-browser.ts";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { callTool, finish } from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";

/** Generous: the machine may be loaded (conditions are polled, never timed). */
const WAIT_MS = 60_000;
const GOAL = "ui-fork: echo twice then finish";

describe("run inspector: forks", () => {
  let svc: ServiceProcess;
  let llm: FakeLlm;
  let browser: Browser;
  let page: Page;
  const dirs: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    browser = await launchChromium();
    llm = await startFakeLlm({
      script: (req, turn) =>
        turn < 2
          ? callTool("echo", { text: `${req.model} step ${turn + 1}` })
          : finish(`done by ${req.model}`),
    });
    const policies = mkdtempSync(join(tmpdir(), "mend-ui-fork-policies-"));
    dirs.push(policies);
    writeFileSync(join(policies, "default.yaml"), 'name: default\ntools:\n  allow: ["echo"]\n');
    svc = await startService({
      MEND_POLICIES_DIR: policies,
      MEND_LLM_PROVIDER: "openai",
      MEND_LLM_BASE_URL: llm.url,
      MEND_LLM_MODEL: "fake",
    });
    dirs.push(svc.dataDir);
    page = await browser.newPage({ viewport: { width: 1366, height: 900 }, bypassCSP: true });
    page.setDefaultTimeout(WAIT_MS);
    page.on("pageerror", (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await svc?.stop();
    await llm?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function finished(id: string): Promise<string> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const r = await call(svc.url, "GET", `/v1/runs/${id}`);
      if (["succeeded", "failed", "waiting_for_input", "cancelled"].includes(r.body.status))
        return r.body.status;
      if (Date.now() > deadline) throw new Error(`run ${id} is still ${r.body.status}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  it("forks from a step with another model, then shows lineage, replayed steps and both timelines", async () => {
    const created = await call(svc.url, "POST", "/v1/runs", { mode: "hosted", goal: GOAL });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const parent = created.body.id as string;
    assert.equal(await finished(parent), "succeeded");

    await page.goto(`${svc.url}/ui/runs/${parent}`);
    assert.equal(await page.locator("details.fork-from").count(), 5, "every step can be forked");
    const fork3 = page.locator('details.fork-from[data-fork-seq="3"]');
    await fork3.locator("summary").click();
    await fork3.getByLabel("Model").fill("other-model");
    await screenshot(page, "fork-form");
    await fork3.getByRole("button", { name: "Fork at step #3" }).click();

    // The script opens the new run's page.
    await page.waitForURL((u) => u.pathname.startsWith("/ui/runs/") && !u.pathname.endsWith(parent));
    const child = decodeURIComponent(new URL(page.url()).pathname.split("/").at(-1)!);
    assert.equal(await finished(child), "succeeded");
    await page.reload();
    assert.equal(await page.locator("#run-status").getAttribute("data-status"), "succeeded");
    const link = page.locator("#fork-parent a").first();
    assert.equal(await link.innerText(), parent);
    assert.equal(await link.getAttribute("href"), `/ui/runs/${parent}`);
    assert.match(await page.locator("#fork-parent").innerText(), /at step\s+#3/);
    // Steps 1 and 2 came from the parent: badged, linking to where they were executed.
    for (const seq of [1, 2]) {
      const badge = page.locator(`#step-${seq} .badge.from-parent`);
      assert.equal(await badge.innerText(), "replayed from parent");
      assert.equal(await badge.getAttribute("href"), `/ui/runs/${parent}/steps/${seq}`);
    }
    assert.equal(await page.locator("#step-3 .badge.from-parent").count(), 0);
    // Side by side after the fork point, one row per step key: the parent's and the fork's.
    const rows = page.locator("#fork-compare tbody tr");
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-key"))), [
      "iter-2/llm",
      "iter-2/call-0",
      "iter-3/llm",
    ]);
    const callRow = page.locator('#fork-compare tr[data-key="iter-2/call-0"] td');
    assert.match(await callRow.nth(0).innerText(), /fake step 2/);
    assert.match(await callRow.nth(1).innerText(), /other-model step 2/);
    await screenshot(page, "fork-compare");

    // A step's own page says where it was executed, and forks from there too.
    await page.goto(`${svc.url}/ui/runs/${child}/steps/1`);
    assert.equal(await page.locator("#step-status .badge.from-parent").innerText(), "replayed from parent");
    assert.equal(await page.locator('details.fork-from[data-fork-seq="1"]').count(), 1);

    // The parent links to its fork.
    await page.goto(`${svc.url}/ui/runs/${parent}`);
    const forks = page.locator("#fork-children li");
    assert.equal(await forks.count(), 1);
    assert.match(await forks.innerText(), new RegExp(`${child} at step #3`));
    assert.deepEqual(pageErrors, []);
  });

  it("says why a fork was refused, next to the button", async () => {
    const created = await call(svc.url, "POST", "/v1/runs", { mode: "hosted", goal: `${GOAL} (refused)` });
    const parent = created.body.id as string;
    assert.equal(await finished(parent), "succeeded");
    await page.goto(`${svc.url}/ui/runs/${parent}`);
    const form = page.locator('details.fork-from[data-fork-seq="2"]');
    await form.locator("summary").click();
    await form.getByLabel("Policy").fill("root");
    await form.getByRole("button", { name: "Fork at step #2" }).click();
    await page.waitForFunction(
      `document.querySelector('details.fork-from[data-fork-seq="2"] output').textContent.startsWith("Not done")`,
    );
    assert.match(await form.locator("output").innerText(), /not this API key's policy/);
    const forks = await call(svc.url, "GET", `/v1/runs?parentRunId=${parent}`);
    assert.deepEqual(forks.body.items, []);
    assert.deepEqual(pageErrors, []);
  });
});
