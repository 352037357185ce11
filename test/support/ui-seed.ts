// Seeds a data dir with realistic runs (failures, a remediation, a waiting run, files) through the real Store API.
// Why: the hosted loop is not the inspector's to drive; its tests need runs in every state before the service starts.
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { deflateSync, crc32 } from "node:zlib";
import { makeFailure } from "@mend/wire";
import { SqliteStore } from "../../service/src/store/sqlite/sqlite-store.ts";
import { FileBlobStore } from "../../service/src/store/file-blob-store.ts";
import type { BlobStore } from "../../service/src/store/blob-store.ts";
import type { NewStep, StepEnd, Store } from "../../service/src/store/store.ts";

const TENANT = "local";
const AUDIT = { tenant: TENANT, keyId: null, policy: "default", policyVersion: "seed" };

export interface SeededRuns {
  failed: string;
  waiting: string;
  succeeded: string;
  xss: string;
  /** The goal of the XSS run, as typed. */
  xssGoal: string;
  /** sha256 of the PNG the remediated step of the failed run produced. */
  chartSha: string;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A small bar chart as a real PNG (what a plotting step would have produced). */
export function barChartPng(values: number[], width = 320, height = 160): Buffer {
  const colours = [
    [31, 95, 191],
    [27, 127, 59],
    [194, 124, 14],
    [180, 35, 24],
  ];
  const max = Math.max(...values);
  const barW = Math.floor(width / (values.length * 2));
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3, 255);
    row[0] = 0;
    for (let x = 0; x < width; x++) {
      const i = Math.floor(x / (barW * 2));
      const inBar = x % (barW * 2) >= barW / 2 && x % (barW * 2) < barW * 1.5;
      const v = values[i];
      if (v !== undefined && inBar && height - y <= (v / max) * (height - 10)) {
        const c = colours[i % colours.length]!;
        row.set(c, 1 + x * 3);
      } else if (y === height - 1) row.set([80, 80, 80], 1 + x * 3);
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", deflateSync(Buffer.concat(rows))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Journals one step (claim, a short real duration, end) and its events, like the executor does. */
async function step(store: Store, s: NewStep, ms: number, end: StepEnd): Promise<number> {
  const claim = await store.claimStep({ audit: AUDIT, ...s });
  if (claim.kind !== "claimed") throw new Error(`step ${s.key} was already journaled`);
  const { seq, attempt } = claim.step;
  await store.appendEvent(s.runId, "step.started", { seq, key: s.key, kind: s.kind, attempt });
  if (s.remediation) await store.appendEvent(s.runId, "remediation", { seq, key: s.key, ...s.remediation });
  await sleep(ms);
  await store.endStep(s.runId, seq, end);
  const type = end.status === "succeeded" ? "step.completed" : "step.failed";
  await store.appendEvent(s.runId, type, {
    seq,
    key: s.key,
    kind: s.kind,
    attempt,
    status: end.status,
    ...(end.failure ? { failure: { kind: end.failure.kind, message: end.failure.message } } : {}),
  });
  return seq;
}

const LOAD_CSV = `import pandas as pd
import matplotlib
matplotlib.use("Agg")

df = pd.read_csv("sales_q3.csv")          # 1.2 GB, every column as object
by_region = df.groupby("region")["revenue"].sum()
ax = by_region.plot.bar(title="Q3 revenue by region")
ax.figure.savefig("out/revenue.png")
print("rows:", len(df))
`;

const SUMMARISE = `// Build the summary the agent reports back
const rows = await tools["kv.get"]({ key: "q3/by-region" });
const regions = Object.keys(rows.value);
const best = regions.sort((a, b) => rows.value[b].total - rows.value[a].total)[0];
return { best, regions: regions.length, note: 'revenue in "EUR"' };
`;

async function seedFailed(store: Store, blobs: BlobStore): Promise<{ id: string; chartSha: string }> {
  const id = "run_seed_failed_q3";
  await store.createRun({
    id,
    tenant: TENANT,
    mode: "hosted",
    goal: "Summarise the Q3 sales CSV and plot revenue by region",
    implicit: false,
    policy: "default",
    policyVersion: "seed",
    model: { provider: "openai", name: "gpt-test" },
  });
  await step(
    store,
    {
      runId: id,
      key: "llm-1",
      kind: "llm",
      input: {
        model: "gpt-test",
        messages: [
          { role: "system", content: "You are an analyst. Use the python sandbox for data work." },
          { role: "user", content: "Summarise the Q3 sales CSV and plot revenue by region" },
        ],
      },
    },
    40,
    {
      status: "succeeded",
      output: { action: { type: "container" }, content: "I will load the CSV with pandas and plot it." },
      failure: null,
      usage: { inputTokens: 412, outputTokens: 96, wallMs: 38 },
    },
  );
  const oom = makeFailure(
    "out_of_memory",
    "The container was killed after reaching its 128 MiB memory limit.",
    true,
    {
      limits: { memoryMb: 128 },
      usage: { memoryPeakMb: 128, wallMs: 120 },
      remedy: { action: "increase_memory", memoryMb: 256, withinPolicy: true },
      exitCode: 137,
      stderrTail: "Killed",
    },
  );
  const failedSeq = await step(
    store,
    {
      runId: id,
      key: "load-csv",
      kind: "container",
      input: { type: "container", image: "python", code: LOAD_CSV, limits: { memoryMb: 128 } },
    },
    120,
    {
      status: "failed",
      output: { stdout: "", stderr: "Killed\n", exitCode: 137, usage: { wallMs: 120, memoryPeakMb: 128 } },
      failure: oom,
      usage: { wallMs: 120, memoryPeakMb: 128, cpuMs: 96 },
      audit: {
        ...AUDIT,
        resolved: { image: "python", memoryMb: 128, cpus: 1, timeoutMs: 10_000, diskMb: 256, pids: 64 },
      },
    },
  );
  const chart = await blobs.put(barChartPng([42, 77, 31, 58]));
  await store.addBlobRef(TENANT, chart.sha256, chart.size);
  const csv = await blobs.put("region,revenue\nnorth,42\nsouth,77\neast,31\nwest,58\n");
  await store.addBlobRef(TENANT, csv.sha256, csv.size);
  await step(
    store,
    {
      runId: id,
      key: "load-csv/retry-1",
      kind: "container",
      input: { type: "container", image: "python", code: LOAD_CSV, limits: { memoryMb: 256 } },
      remediation: {
        afterSeq: failedSeq,
        kind: "out_of_memory",
        attempt: 1,
        action: "increase_memory",
        memoryMb: 256,
      },
    },
    160,
    {
      status: "succeeded",
      output: {
        stdout: "rows: 120000\n",
        stderr: "",
        exitCode: 0,
        files: [
          {
            path: "out/revenue.png",
            size: chart.size,
            sha256: chart.sha256,
            url: `/v1/blobs/${chart.sha256}`,
          },
          { path: "out/summary.csv", size: csv.size, sha256: csv.sha256, url: `/v1/blobs/${csv.sha256}` },
        ],
        usage: { wallMs: 160, memoryPeakMb: 201.5 },
      },
      failure: null,
      usage: { wallMs: 160, memoryPeakMb: 201.5, cpuMs: 140 },
      audit: {
        ...AUDIT,
        resolved: { image: "python", memoryMb: 256, cpus: 1, timeoutMs: 10_000, diskMb: 256, pids: 64 },
      },
    },
  );
  await step(
    store,
    {
      runId: id,
      key: "llm-2",
      kind: "llm",
      input: { model: "gpt-test", messages: [{ role: "tool", content: "rows: 120000" }] },
    },
    30,
    {
      status: "succeeded",
      output: { action: { type: "codemode" }, content: "Now I will summarise the regions." },
      failure: null,
      usage: { inputTokens: 655, outputTokens: 120, wallMs: 29 },
    },
  );
  const typeError = makeFailure(
    "runtime_error",
    "TypeError: cannot read property 'total' of undefined (line 4, column 58)",
    false,
    {
      location: { line: 4, column: 58 },
      cause: { type: "TypeError", message: "cannot read property 'total' of undefined" },
    },
  );
  await step(
    store,
    {
      runId: id,
      key: "summarise",
      kind: "codemode",
      input: { type: "codemode", code: SUMMARISE, language: "javascript", limits: { memoryMb: 32 } },
    },
    15,
    {
      status: "failed",
      output: {
        logs: [],
        toolCalls: [{ seq: 1, tool: "kv.get", status: "succeeded", cached: true, replayed: false, ms: 0.4 }],
        usage: { wallMs: 9, memoryPeakMb: 3.2 },
      },
      failure: typeError,
      usage: { wallMs: 9, memoryPeakMb: 3.2 },
      audit: {
        ...AUDIT,
        resolved: { engine: "quickjs", limits: { memoryMb: 32, timeoutMs: 5000, maxToolCalls: 1000 } },
      },
    },
  );
  await store.updateRun(id, { status: "failed", failure: typeError, iterations: 3 });
  await store.appendEvent(id, "run.completed", { status: "failed" });
  return { id, chartSha: chart.sha256 };
}

async function seedWaiting(store: Store): Promise<string> {
  const id = "run_seed_waiting_room";
  await store.createRun({
    id,
    tenant: TENANT,
    mode: "hosted",
    goal: "Book a meeting room for Thursday's design review",
    implicit: false,
    policy: "default",
    policyVersion: "seed",
  });
  await step(
    store,
    { runId: id, key: "llm-1", kind: "llm", input: { messages: [{ role: "user", content: "Book a room" }] } },
    25,
    { status: "succeeded", output: { action: { type: "tool" } }, failure: null, usage: { wallMs: 24 } },
  );
  await step(
    store,
    {
      runId: id,
      key: "rooms-thursday",
      kind: "tool",
      input: { type: "tool", tool: "echo", args: { day: "thursday" } },
    },
    20,
    {
      status: "failed",
      output: null,
      failure: makeFailure(
        "tool_failed",
        "rooms.search answered 409: every room is booked on Thursday",
        false,
      ),
      usage: { wallMs: 19 },
    },
  );
  // As the hosted loop does when it needs a human: an open `human` step, named in waitingFor.stepKey.
  const question = "No room is free on Thursday. Which day should I try instead?";
  const waitingFor = {
    kind: "budget_exhausted",
    question,
    tried: ["rooms.search"],
    recentFailures: [{ kind: "tool_failed", message: "every room is booked on Thursday" }],
    stepKey: "human-1",
  };
  await store.claimStep({ runId: id, key: "human-1", kind: "human", input: waitingFor, audit: AUDIT });
  await store.updateRun(id, { status: "waiting_for_input", iterations: 2, waitingFor });
  await store.appendEvent(id, "run.waiting_for_input", waitingFor);
  return id;
}

async function seedSucceeded(store: Store): Promise<string> {
  const id = "run_seed_nightly_etl";
  await store.createRun({
    id,
    tenant: TENANT,
    mode: "client",
    goal: "Nightly ETL for the billing warehouse",
    implicit: false,
  });
  for (const [key, cached] of [
    ["extract", false],
    ["transform", true],
    ["load", false],
  ] as const) {
    await step(
      store,
      { runId: id, key, kind: "codemode", input: { type: "codemode", code: `return "${key} done";` } },
      10,
      {
        status: "succeeded",
        output: { result: `${key} done`, logs: [], usage: { wallMs: 8 } },
        failure: null,
        usage: { wallMs: 8 },
        cached,
      },
    );
  }
  await store.updateRun(id, { status: "succeeded", output: { rows: 1234 } });
  await store.appendEvent(id, "run.completed", { status: "succeeded" });
  return id;
}

async function seedXss(store: Store, goal: string): Promise<string> {
  const id = "run_seed_xss";
  await store.createRun({
    id,
    tenant: TENANT,
    mode: "client",
    goal,
    implicit: false,
    metadata: { note: "<b>bold?</b>" },
  });
  await step(
    store,
    {
      runId: id,
      key: `<img src=x onerror="window.__xss=3">`,
      kind: "codemode",
      input: { type: "codemode", code: "return '</script><script>window.__xss=4</script>'" },
    },
    5,
    {
      status: "succeeded",
      output: { result: "<svg onload=window.__xss=5>" },
      failure: null,
      usage: { wallMs: 4 },
    },
  );
  await store.updateRun(id, { status: "cancelled" });
  return id;
}

/**
 * Writes the seeded runs into `dataDir` (mend.db and blobs/, as the service lays them out); call before start.
 * @example const seeded = await seedInspectorRuns(dir); const svc = await startService({}, dir)
 */
export async function seedInspectorRuns(dataDir: string): Promise<SeededRuns> {
  const store = SqliteStore.open(join(dataDir, "mend.db"));
  const blobs = new FileBlobStore(join(dataDir, "blobs"));
  try {
    const xssGoal = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> Fetch "pricing" & compare`;
    const succeeded = await seedSucceeded(store);
    const xss = await seedXss(store, xssGoal);
    const waiting = await seedWaiting(store);
    const failed = await seedFailed(store, blobs);
    return { failed: failed.id, waiting, succeeded, xss, xssGoal, chartSha: failed.chartSha };
  } finally {
    await store.close();
  }
}
