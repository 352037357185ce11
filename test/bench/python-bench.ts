// Python code-mode (Monty) beside QuickJS and V8, in process and over HTTP; the cost of crash isolation; and
// resuming a 50-call script from its interpreter snapshot versus replaying it from the tool-call journal.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Monty, MontyComplete, MontyNameLookup, type MontySnapshot } from "@pydantic/monty";
import type { CodeModeEngineName } from "@mend/wire";
import { MontyEngine } from "../../sandboxes/src/codemode/monty/monty-engine.ts";
import { QuickJsEngine } from "../../sandboxes/src/codemode/quickjs/quickjs-engine.ts";
import { V8Engine } from "../../sandboxes/src/codemode/v8/v8-engine.ts";
import { MemoryJournal, TEST_LIMITS, TEST_TOOLS } from "../../sandboxes/src/testing/codemode-fixtures.ts";
import type {
  CodeModeEngine,
  CodeModeLanguage,
  CodeModeRequest,
  ToolCallJournal,
  ToolInvoker,
} from "../../sandboxes/src/codemode/engine.ts";
import { StoreToolJournal } from "../../service/src/engine/store-tool-journal.ts";
import { FileBlobStore } from "../../service/src/store/file-blob-store.ts";
import { SqliteStore } from "../../service/src/store/sqlite/sqlite-store.ts";
import { startService } from "../support/service-process.ts";
import { httpClient, type HttpClient } from "./http-client.ts";
import { FailureTally } from "./failure-tally.ts";
import { closedLoop, rowOf, sequential, type LoadResult, type Op } from "./load.ts";
import { memoryFields } from "./proc-memory.ts";
import { percentile, type Row } from "./stats.ts";

const echo: ToolInvoker = async ({ args }) => ({ ok: true, value: args });

/** The same work in both languages: 3 dependent echo calls. */
type Lang = "javascript" | "python";
const SCRIPTS: Record<Lang, string> = {
  javascript:
    "const a = await tools.echo({ text: 'a' });\nconst b = await tools.echo({ text: a.text + 'b' });\nconst c = await tools.echo({ text: b.text + 'c' });\nreturn c.text;",
  python:
    "a = tools.echo(text='a')\nb = tools.echo(text=a['text'] + 'b')\nc = tools.echo(text=b['text'] + 'c')\nc['text']",
};

/** 50 tool calls with some work between them (what a resume from the snapshot does not redo). */
const FIFTY_CALLS = [
  "data = list(range(300))",
  "acc = []",
  "for i in range(50):",
  "    r = tools.echo(text=str(i))",
  "    acc.append(sum(x * x for x in data) + len(r['text']))",
  "sum(acc)",
].join("\n");

function request(
  code: string,
  language: CodeModeLanguage,
  extra: Partial<CodeModeRequest> = {},
): CodeModeRequest {
  return {
    code,
    language,
    tools: TEST_TOOLS,
    limits: { ...TEST_LIMITS, timeoutMs: 30_000, maxToolCalls: 1000 },
    seed: 1,
    clockMs: 0,
    invokeTool: echo,
    ...extra,
  };
}

function op(engine: CodeModeEngine, code: string, language: CodeModeLanguage, expect: unknown): Op {
  return async () => {
    const outcome = await engine.execute(request(code, language));
    if (outcome.status !== "succeeded")
      throw new Error(`script failed: ${outcome.failure.kind} ${outcome.failure.message}`);
    if (outcome.result !== expect) throw new Error(`wrong result ${JSON.stringify(outcome.result)}`);
  };
}

/** Monty in the bench process itself, no child process, no broker: the interpreter's own floor. */
function rawMonty(code: string): Op {
  const tools = {
    __monty_type__: "Dataclass",
    name: "tools",
    typeId: 1n,
    fieldNames: [],
    fields: {},
    frozen: true,
  };
  return async () => {
    let progress: MontySnapshot | MontyNameLookup | MontyComplete = new Monty(code, {
      scriptName: "script.py",
      inputs: ["tools"],
    }).start({ inputs: { tools }, limits: { maxMemory: 32 << 20, maxDurationSecs: 30 } });
    while (!(progress instanceof MontyComplete)) {
      if (progress instanceof MontyNameLookup) progress = progress.resume();
      else progress = progress.resume({ returnValue: new Map(Object.entries(progress.kwargs)) });
    }
    if (progress.output !== "abc") throw new Error(`wrong result ${String(progress.output)}`);
  };
}

/**
 * The in-process rows: the 3-call script on Monty (child processes, with and without snapshots), the
 * interpreter alone in this process, QuickJS and V8.
 * @example console.table(await benchPythonInProcess())
 */
export async function benchPythonInProcess(n = 1000): Promise<Row[]> {
  const rows: Row[] = [];
  const raw = await sequential(n, 100, rawMonty(SCRIPTS.python));
  const engines: [string, () => CodeModeEngine & { ready?: () => Promise<void> }, Lang][] = [
    [
      "monty (2 child processes, snapshot dumped at each call)",
      () => new MontyEngine({ workers: 2 }),
      "python",
    ],
    ["monty, snapshots off", () => new MontyEngine({ workers: 2, snapshots: false }), "python"],
    ["quickjs (2 workers)", () => new QuickJsEngine({ workers: 2 }), "javascript"],
    ["v8 (isolate per execution)", () => new V8Engine(), "javascript"],
  ];
  let montyP50 = Number.NaN;
  for (const [label, make, language] of engines) {
    const engine = make();
    try {
      await engine.ready?.();
      const seq = await sequential(n, 100, op(engine, SCRIPTS[language], language, "abc"));
      const conc = await closedLoop(n, 4, op(engine, SCRIPTS[language], language, "abc"));
      if (label.startsWith("monty (")) montyP50 = percentile(seq.samplesMs, 0.5);
      rows.push(
        rowOf(`${label}: 3 sequential tool calls`, seq, {
          throughputPerS: Math.round((conc.samplesMs.length / conc.wallMs) * 1000),
          failures: seq.failures.count + conc.failures.count,
          failureMessages: [...seq.failures.messages(), ...conc.failures.messages()],
          notes: "one at a time for p50/p99; throughput with 4 in flight",
        }),
      );
      if (language === "python" && label.startsWith("monty (")) {
        rows.push(
          rowOf("    monty: `1` (no tool call)", await sequential(n, 100, op(engine, "1", "python", 1))),
        );
      }
    } finally {
      await engine.dispose();
    }
  }
  const isolation = montyP50 - percentile(raw.samplesMs, 0.5);
  rows.push(
    rowOf("    @pydantic/monty in this process (no isolation, no broker): same script", raw, {
      notes: `the interpreter's floor; crash isolation + broker + dumps cost ${isolation.toFixed(3)} ms at p50 (the monty row minus this one)`,
    }),
  );
  return rows;
}

/**
 * Runs `a` and `b` alternately, `rounds` times each after `warmup` untimed pairs: both see the same
 * machine load (the machine is shared), which two sequential blocks would not.
 */
async function interleaved(rounds: number, warmup: number, a: Op, b: Op): Promise<[LoadResult, LoadResult]> {
  const results: [LoadResult, LoadResult] = [
    { samplesMs: [], failures: new FailureTally(), wallMs: 0 },
    { samplesMs: [], failures: new FailureTally(), wallMs: 0 },
  ];
  for (let i = -warmup; i < rounds; i++) {
    for (const [k, o] of [a, b].entries()) {
      const r = results[k]!;
      const t = performance.now();
      try {
        await o(i);
        if (i >= 0) r.samplesMs.push(performance.now() - t);
      } catch (e) {
        r.failures.add(e);
      }
      if (i >= 0) r.wallMs += performance.now() - t;
    }
  }
  return results;
}

/** A journal that keeps tool calls only (no snapshots): what replay-from-journal runs against. */
const recordsOnly = (j: ToolCallJournal): ToolCallJournal => ({
  recorded: () => j.recorded(),
  record: (c) => j.record(c),
});

/**
 * Resume after a crash: from the snapshot at call k versus replaying calls 1..k from the journal (the script
 * re-run), for k = 50 and 25 of 50; then the cost of journaling a snapshot at every call in SQLite + blobs.
 * @example console.table(await benchPythonResume())
 */
export async function benchPythonResume(rounds = 60): Promise<Row[]> {
  const rows: Row[] = [];
  const engine = new MontyEngine({ workers: 2 });
  const dir = mkdtempSync(join(tmpdir(), "mend-bench-python-"));
  const store = SqliteStore.open(join(dir, "mend.db"));
  const blobs = new FileBlobStore(join(dir, "blobs"));
  try {
    await engine.ready();
    const full = new MemoryJournal();
    const first = await engine.execute(request(FIFTY_CALLS, "python", { journal: full }));
    if (first.status !== "succeeded" || full.records.length !== 50)
      throw new Error("the 50-call script failed");
    const expected = first.result;
    for (const k of [50, 25]) {
      const snapshotBytes = full.snapshots[k - 1]!.data.byteLength;
      const crashed = () => new MemoryJournal(full.records.slice(0, k), full.snapshots.slice(0, k));
      const resume =
        (journal: () => ToolCallJournal, fromSnapshot: boolean): Op =>
        async () => {
          const outcome = await engine.execute(request(FIFTY_CALLS, "python", { journal: journal() }));
          if (outcome.status !== "succeeded" || outcome.result !== expected) throw new Error("wrong resume");
          if ((outcome.resumedFromSnapshot?.seq === k) !== fromSnapshot)
            throw new Error("resumed the wrong way");
        };
      const [snap, replay] = await interleaved(
        rounds,
        5,
        resume(crashed, true),
        resume(() => recordsOnly(crashed()), false),
      );
      const speedup = percentile(replay.samplesMs, 0.5) / percentile(snap.samplesMs, 0.5);
      rows.push(
        rowOf(`(f) crash after call ${k} of 50: resume from the snapshot at call ${k}`, snap, {
          ratio: Math.round(speedup * 10) / 10,
          notes: `${speedup.toFixed(1)}× faster than replay at p50; loads the ${snapshotBytes.toLocaleString("en-US")}-byte snapshot, ${50 - k} calls live after it`,
        }),
        rowOf(`    same: replay calls 1–${k} from the journal (script re-run)`, replay, {
          notes: `the script runs from the top; ${k} calls answered from the journal, ${50 - k} live`,
        }),
      );
    }
    // Journaling a snapshot at each call in the real store: blob (fsync + rename) and checkpoint, per call.
    await store.createRun({ id: "run_bench", tenant: "local", mode: "client", goal: null, implicit: false });
    let step = 0;
    const journaled =
      (withSnapshots: boolean): Op =>
      async () => {
        const claim = await store.claimStep({
          runId: "run_bench",
          key: `s${step++}`,
          kind: "codemode",
          input: null,
        });
        const journal = new StoreToolJournal(
          store,
          "run_bench",
          claim.step.seq,
          undefined,
          withSnapshots ? blobs : undefined,
        );
        const outcome = await engine.execute(request(FIFTY_CALLS, "python", { journal }));
        if (outcome.status !== "succeeded" || outcome.result !== expected) throw new Error("wrong result");
      };
    const [plain, snapped] = await interleaved(rounds, 3, journaled(false), journaled(true));
    const perCall = (percentile(snapped.samplesMs, 0.5) - percentile(plain.samplesMs, 0.5)) / 50;
    rows.push(
      rowOf("(g) 50-call script, calls journaled in SQLite, no snapshots", plain),
      rowOf("    same, + the interpreter snapshot saved at every call", snapped, {
        notes: `${perCall.toFixed(3)} ms per call at p50 for the snapshot (interleaved with the row above; snapshots ≤ 64 KiB inline in the pointer row)`,
      }),
    );
  } finally {
    await engine.dispose();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

function execution(client: HttpClient, language: Lang, engine: CodeModeEngineName, nonce: () => string): Op {
  return async () => {
    const t = nonce();
    const code =
      language === "python"
        ? SCRIPTS.python.replace("text='a'", `text='${t}a'`)
        : SCRIPTS.javascript.replace("text: 'a'", `text: '${t}a'`);
    const res = await client.json<{
      status: string;
      result: unknown;
      failure?: { kind: string; message: string };
    }>("POST", "/v1/executions", { sandbox: "codemode", language, engine, code });
    if (res.status !== "succeeded")
      throw new Error(`execution ${res.status}: ${res.failure?.kind} ${res.failure?.message}`);
    if (res.result !== `${t}abc`) throw new Error(`wrong result ${JSON.stringify(res.result)}`);
  };
}

/**
 * Over HTTP: POST /v1/executions of the same 3-call script in Python (monty), JavaScript on quickjs and v8.
 * @example console.table(await benchPythonHttp())
 */
export async function benchPythonHttp(n = 500): Promise<Row[]> {
  const rows: Row[] = [];
  const svc = await startService({ MEND_POOL_SIZE: "0" });
  const client = httpClient(svc.url, { maxSockets: 16 });
  let counter = 0;
  const nonce = () => `n${++counter}-`;
  try {
    for (const [language, engine] of [
      ["python", "monty"],
      ["javascript", "quickjs"],
      ["javascript", "v8"],
    ] as const) {
      const exec = execution(client, language, engine, nonce);
      rows.push(
        rowOf(`(h) ${engine} over HTTP: 3 echo calls, new args, sequential`, await sequential(n, 100, exec)),
        rowOf(`    ${engine} over HTTP: same, 8 in flight`, await closedLoop(2 * n, 8, exec), {
          withThroughput: true,
          ...memoryFields("service", svc.child.pid),
        }),
      );
    }
  } finally {
    client.close();
    await svc.stop();
    rmSync(svc.dataDir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.main) {
  console.table([
    ...(await benchPythonInProcess()),
    ...(await benchPythonResume()),
    ...(await benchPythonHttp()),
  ]);
}
