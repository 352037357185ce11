// Durability hooks across a crash: an agent using run.step is SIGKILLed half way and restarted.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { Mend } from "../../client/src/index.ts";

const AGENT = new URL("../support/client-agent-steps.ts", import.meta.url).pathname;
let svc: ServiceProcess;
before(async () => {
  svc = await startService();
});
after(async () => svc.stop());

type AgentEvent = { event: string; [k: string]: unknown };

/** Runs the agent; resolves with its events once it exits, or kills it with SIGKILL at `killOn`. */
function runAgent(
  env: Record<string, string>,
  killOn?: string,
): Promise<{ events: AgentEvent[]; signal: string | null; code: number | null }> {
  const child = spawn(process.execPath, [AGENT], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: AgentEvent[] = [];
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    const ev = JSON.parse(line) as AgentEvent;
    events.push(ev);
    if (ev.event === killOn) child.kill("SIGKILL");
  });
  return new Promise((resolve, reject) =>
    child.on("exit", (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`agent exited ${code}: ${stderr}`));
      else resolve({ events, signal, code });
    }),
  );
}

describe("run.step across an agent crash", () => {
  it("does not re-run completed steps after SIGKILL and restart; only the step in flight runs again", async () => {
    const effects = join(mkdtempSync(join(tmpdir(), "mend-agent-")), "effects.log");
    const env = { MEND_URL: svc.url, RUN_NAME: `crash-${Date.now()}`, EFFECTS_FILE: effects };

    const first = await runAgent({ ...env, BLOCK_AT: "4" }, "blocked");
    assert.equal(first.signal, "SIGKILL");
    const firstExec = first.events.find((e) => e.event === "executed")!;
    assert.equal(firstExec.replayed, false);
    assert.equal(firstExec.result, 10); // (1 + 4) * 2

    const second = await runAgent(env);
    assert.equal(second.code, 0);
    assert.equal(second.events[0]!.runId, first.events[0]!.runId, "reopening by name returns the same run");
    const secondExec = second.events.find((e) => e.event === "executed")!;
    assert.equal(secondExec.replayed, true, "the service step answers from the journal");
    assert.equal(second.events.at(-1)!.total, 1 + 4 + 9 + 16 + 25 + 36);

    const lines = readFileSync(effects, "utf8").trim().split("\n");
    const count = (i: number) => lines.filter((l) => l === `square ${i}`).length;
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(count), [1, 1, 1, 2, 1, 1]);

    const mend = new Mend({ baseUrl: svc.url });
    const run = await mend.runs.get(String(first.events[0]!.runId));
    assert.equal(run.status, "succeeded");
    assert.deepEqual(run.output, { total: 91 });
  });
});
