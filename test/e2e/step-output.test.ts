// Live output: a running step's stdout/stderr and console lines reach run.events() as step.output events.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { Mend, type RunEvent } from "../../client/src/index.ts";

let svc: ServiceProcess;
let mend: Mend;
before(async () => {
  svc = await startService();
  mend = new Mend({ baseUrl: svc.url });
});
after(async () => {
  await svc.stop();
});

const unique = (p: string) => `${p}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

interface OutputData {
  seq: number;
  attempt: number;
  stream: string;
  text: string;
  truncated?: boolean;
}

/** Collects a run's events in the background until the run finishes or `stop` is called. */
function follow(events: AsyncGenerator<RunEvent>): { seen: RunEvent[]; done: Promise<void> } {
  const seen: RunEvent[] = [];
  const done = (async () => {
    for await (const ev of events) seen.push(ev);
  })();
  return { seen, done };
}

async function waitFor<T>(what: string, probe: () => T | undefined, deadlineMs = 60_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const outputs = (seen: RunEvent[]) =>
  seen.filter((e) => e.type === "step.output").map((e) => e.data as OutputData);

describe("step.output events", () => {
  it("stream a container's stdout while it still runs (the step is not ended when the line arrives)", async () => {
    const run = await mend.runs.open(unique("live"));
    const watch = follow(run.events());
    const pending = run.execute("slow", {
      type: "container",
      image: "python",
      code: "import time, sys\nprint('first line', flush=True)\nsys.stderr.write('to stderr\\n'); sys.stderr.flush()\ntime.sleep(120)",
      limits: { timeoutMs: 180_000 },
    });
    const first = await waitFor("the first stdout line", () =>
      outputs(watch.seen).find((o) => o.stream === "stdout" && o.text.includes("first line")),
    );
    assert.equal(first.attempt, 1);
    // The line came while the container sleeps: its step is still started in the journal.
    const steps = await run.steps();
    assert.equal(steps.find((s) => s.seq === first.seq)?.status, "started");
    await waitFor("the stderr line", () =>
      outputs(watch.seen).find((o) => o.stream === "stderr" && o.text.includes("to stderr")),
    );
    await run.cancel();
    const res = await pending;
    assert.equal(res.status, "failed");
    await watch.done;
    // The stream ends with the cancelled run; the live lines came before that end.
    const types = watch.seen.map((e) => e.type);
    assert.ok(types.lastIndexOf("step.output") < types.indexOf("run.completed"), types.join(","));
  });

  it("carry code-mode console lines (QuickJS, V8, Python) before the step's end, the same lines the journal keeps", async () => {
    const scripts = [
      {
        name: "quickjs",
        engine: "quickjs",
        code: "for (let i = 0; i < 3; i++) { console.log('line ' + i); await tools.echo({ text: String(i) }); } return 1;",
      },
      {
        name: "v8",
        engine: "v8",
        code: "for (let i = 0; i < 3; i++) { console.log('line ' + i); await tools.echo({ text: String(i) }); } return 1;",
      },
      {
        name: "python",
        language: "python",
        code: "for i in range(3):\n    print('line', i)\n    tools.echo(text=str(i))\n1",
      },
    ] as const;
    for (const { name, ...action } of scripts) {
      const run = await mend.runs.open(unique(`logs-${name}`));
      const res = await run.execute("logs", { type: "codemode", ...action });
      assert.equal(res.status, "succeeded", JSON.stringify(res.failure));
      await run.complete(1);
      const seen: RunEvent[] = [];
      for await (const ev of run.events()) seen.push(ev);
      const live = outputs(seen)
        .map((o) => (assert.equal(o.stream, "log"), o.text))
        .join("");
      assert.ok((res.logs ?? []).length >= 3, name);
      assert.equal(live, (res.logs ?? []).map((l) => `${l}\n`).join(""), name);
      const types = seen.map((e) => e.type);
      assert.ok(types.lastIndexOf("step.output") < types.indexOf("step.completed"), types.join(","));
    }
  });

  it("are bounded per attempt: a flood becomes at most 256 events of 8 KiB and 64 KiB, then one truncated notice", async () => {
    const run = await mend.runs.open(unique("flood"));
    const res = await run.execute("flood", {
      type: "container",
      image: "python",
      code: "import sys\nfor i in range(2000):\n    sys.stdout.write('x' * 99 + '\\n')\nsys.stdout.flush()",
    });
    assert.equal(res.status, "succeeded", JSON.stringify(res.failure));
    assert.equal(res.stdout?.length, 2000 * 100);
    await run.complete(1);
    const seen: RunEvent[] = [];
    for await (const ev of run.events()) seen.push(ev);
    const out = outputs(seen);
    assert.ok(out.length <= 257, `${out.length} events`);
    for (const o of out) assert.ok(Buffer.byteLength(o.text) <= 8 * 1024);
    const total = out.reduce((n, o) => n + Buffer.byteLength(o.text), 0);
    assert.ok(total <= 64 * 1024, `${total} bytes`);
    assert.equal(out.filter((o) => o.truncated).length, 1);
    assert.equal(out.at(-1)?.truncated, true);
  });
});
