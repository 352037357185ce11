// The inspector as a debugger: what the model was sent, tokens, runs of every origin, idle runs, events, rerun.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { startFakeLlm, type FakeLlm } from "../support/fake-llm.ts";
import { callTool, finish } from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";
import { launchChromium, screenshot } from "../support/ui-browser.ts";

// A 1.5 s idle deadline: the abandoned client run needs no long wait (and a run with activity is not).
const POLICY = `name: default
tools:
  allow: ["echo"]
budgets: { iterations: 10, consecutiveFailures: 2, wallMs: 600000, tokens: 10000000, onExhausted: ask_human, clientIdleMs: 1500 }
`;

const GOAL = "Echo the word inspector, then finish";

describe("run inspector: the debugger's view", () => {
  let llm: FakeLlm;
  let svc: ServiceProcess;
  let browser: Browser;
  let page: Page;
  let hostedId: string;
  const pageErrors: string[] = [];
  const api = (method: string, path: string, body?: unknown) => call(svc.url, method, path, body);

  async function until(id: string, statuses: string[]): Promise<any> {
    const end = Date.now() + 120_000;
    for (;;) {
      const r = await api("GET", `/v1/runs/${id}`);
      if (statuses.includes(r.body.status)) return r.body;
      if (Date.now() > end) throw new Error(`run ${id} stayed ${r.body.status}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  before(async () => {
    llm = await startFakeLlm({
      script: (_req, turn) => (turn === 0 ? callTool("echo", { text: "inspector" }) : finish("done")),
    });
    const policies = mkdtempSync(join(tmpdir(), "mend-inspect-policies-"));
    writeFileSync(join(policies, "default.yaml"), POLICY);
    svc = await startService({
      MEND_POLICIES_DIR: policies,
      MEND_LLM_PROVIDER: "openai",
      MEND_LLM_BASE_URL: llm.url,
      MEND_LLM_MODEL: "fake",
    });
    const made = await api("POST", "/v1/runs", { mode: "hosted", goal: GOAL });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    hostedId = made.body.id;
    const run = await until(hostedId, ["succeeded", "failed", "waiting_for_input"]);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1366, height: 900 }, bypassCSP: true });
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await svc?.stop();
    await llm?.close();
  });

  it("shows an LLM step's whole request (system prompt, tools offered, every message) and its answer", async () => {
    const steps = (await api("GET", `/v1/runs/${hostedId}/steps`)).body as any[];
    const second = steps.filter((s) => s.kind === "llm")[1];
    assert.ok(second, JSON.stringify(steps.map((s) => s.key)));
    await page.goto(`${svc.url}/ui/runs/${hostedId}/steps/${second.seq}`);
    assert.match(await page.locator("#llm-system").innerText(), /\S/);
    const tools = await page.locator("#llm-tools li").allInnerTexts();
    assert.ok(
      tools.some((t) => t.startsWith("finish")),
      tools.join(" | "),
    );
    assert.ok(
      tools.some((t) => t.startsWith("echo")),
      tools.join(" | "),
    );
    const roles = await page
      .locator("#llm-messages > li")
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-role")));
    // The second turn was sent the goal, the first answer (its echo call) and the tool's result.
    assert.ok(roles.length >= 3, roles.join(","));
    assert.equal(roles[0], "user");
    assert.match(await page.locator("#llm-messages").innerText(), /Echo the word inspector/);
    assert.match(await page.locator("#llm-messages").innerText(), /inspector/);
    assert.match(await page.locator("#llm-tool-calls").innerText(), /finish/);
    assert.match(await page.locator("#llm-tokens").innerText(), /\d+ in · \d+ out/);
    await screenshot(page, "llm-step");
    assert.deepEqual(pageErrors, []);
  });

  it("shows the run's token totals and says the turns are not priced", async () => {
    const steps = (await api("GET", `/v1/runs/${hostedId}/steps`)).body as any[];
    const input = steps.filter((s) => s.kind === "llm").reduce((n, s) => n + (s.usage?.inputTokens ?? 0), 0);
    await page.goto(`${svc.url}/ui/runs/${hostedId}`);
    const tokens = await page.locator("#run-tokens").innerText();
    assert.match(tokens, new RegExp(`^${input.toLocaleString("en-US")} in`));
    assert.match(await page.locator("#run-cost").innerText(), /not priced/);
    assert.equal(await page.locator("#run-origin").innerText(), "hosted");
  });

  it("lists the run's events in an event history", async () => {
    await page.goto(`${svc.url}/ui/runs/${hostedId}`);
    await page.locator("#run-events summary").click();
    const types = await page
      .locator("#run-events tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-event-type")));
    assert.equal(types[0], "step.started");
    assert.equal(types.at(-1), "run.completed");
    assert.ok(types.includes("step.completed"), types.join(","));
  });

  it("reruns a hosted run as a new run with the same goal, linked to the first", async () => {
    await page.goto(`${svc.url}/ui/runs/${hostedId}`);
    await page.locator("#rerun-form button").click();
    await page.waitForFunction(`!location.pathname.endsWith(${JSON.stringify(hostedId)})`);
    const newId = decodeURIComponent(new URL(page.url()).pathname.split("/").at(-1)!);
    assert.notEqual(newId, hostedId);
    const rerun = await until(newId, ["succeeded", "failed", "waiting_for_input"]);
    assert.equal(rerun.goal, GOAL);
    assert.equal(rerun.metadata.rerunOf, hostedId);
    assert.equal(rerun.status, "succeeded");
  });

  it("lists runs of every origin by default, and narrows them by origin in the page and the API", async () => {
    const oneOff = await api("POST", "/v1/executions", { sandbox: "codemode", code: "return 2" });
    assert.equal(oneOff.status, 200, JSON.stringify(oneOff.body));
    const client = await api("POST", "/v1/runs", { mode: "client" });
    const all = (await api("GET", "/v1/runs")).body.items as any[];
    const byId = new Map(all.map((r) => [r.id, r.origin]));
    assert.equal(byId.get(oneOff.body.runId), "one-off");
    assert.equal(byId.get(client.body.id), "client");
    assert.equal(byId.get(hostedId), "hosted");
    const only = (await api("GET", "/v1/runs?origin=one-off")).body.items as any[];
    assert.ok(only.length >= 1);
    assert.ok(only.every((r) => r.origin === "one-off"));
    assert.equal((await api("GET", "/v1/runs?origin=vm")).status, 400);

    await page.goto(`${svc.url}/ui`);
    await page.locator(`tr[data-run-id="${oneOff.body.runId}"]`).waitFor();
    await page.locator(`tr[data-run-id="${hostedId}"]`).waitFor();
    await page.selectOption("#filter-origin", "one-off");
    await page.waitForFunction(
      `[...document.querySelectorAll("#runs-body tr")].every((r) => r.dataset.origin === "one-off")`,
    );
    assert.equal(await page.locator(`tr[data-run-id="${hostedId}"]`).count(), 0);
  });

  it("marks a client-driven run idle past budgets.clientIdleMs abandoned, on the list and on its page", async () => {
    const idle = (await api("POST", "/v1/runs", { mode: "client", goal: "left alone" })).body.id as string;
    await api("POST", `/v1/runs/${idle}/steps`, {
      key: "one",
      action: { type: "codemode", code: "return 1" },
    });
    // Past the 1.5 s deadline with nothing happening (polled: the badge appears once the deadline passed).
    const end = Date.now() + 60_000;
    for (;;) {
      await page.goto(`${svc.url}/ui/runs/${idle}`);
      if ((await page.locator("#run-abandoned").count()) > 0) break;
      if (Date.now() > end) throw new Error("the idle run was never marked abandoned");
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(await page.locator("#run-abandoned").innerText(), /abandoned/);
    await page.goto(`${svc.url}/ui`);
    assert.equal(await page.locator(`tr[data-run-id="${idle}"] .badge.abandoned`).count(), 1);
    assert.equal(await page.locator(`tr[data-run-id="${hostedId}"] .badge.abandoned`).count(), 0);
  });
});
