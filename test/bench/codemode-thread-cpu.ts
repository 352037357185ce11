// CPU per code-mode execution over HTTP, per thread of the server process (/proc/<pid>/task/*/stat): the main
// thread, the QuickJS workers, V8's helper threads, the WAL checkpointer. Compares builds or settings interleaved.
//
// Usage: node test/bench/codemode-thread-cpu.ts [--entry dist/mend.js]... [--bare] [--n 2000] [--c 8]
//          [--rounds 3] [--env KEY=VALUE]...
// Each --entry is one arm (a bundle's mend.js; default this worktree's dist/), --bare adds the bare Hono route.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startService } from "../support/service-process.ts";
import { startBareHono } from "./bare-hono-server.ts";
import { httpClient, type HttpClient } from "./http-client.ts";
import { closedLoop, sequential } from "./load.ts";

/** CPU ms (user + system) of each thread of `pid`, by thread id, with the thread's name. */
export function threadCpuMs(pid: number): Map<number, { name: string; ms: number }> {
  const out = new Map<number, { name: string; ms: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(tid), { name, ms: (Number(f[11]) + Number(f[12])) * 10 });
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

/** Which group a thread belongs to, from its name (main = the process's own tid). */
function groupOf(pid: number, tid: number, name: string): string {
  if (tid === pid) return "main";
  if (/^V8 /.test(name)) return "v8-helpers";
  if (/libuv/.test(name)) return "libuv";
  return name;
}

/** How many threads of each group did any work in a round (the workers that took guests). */
function busyCounts(
  pid: number,
  before: Map<number, { ms: number }>,
  after: Map<number, { name: string; ms: number }>,
) {
  const busy = new Map<string, number>();
  for (const [tid, t] of after) {
    if (t.ms - (before.get(tid)?.ms ?? 0) <= 0) continue;
    const g = groupOf(pid, tid, t.name);
    busy.set(g, (busy.get(g) ?? 0) + 1);
  }
  return busy;
}

interface Arm {
  label: string;
  start(): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }>;
  path: string;
  body(code: string): unknown;
}

function startMend(entry: string, env: Record<string, string>) {
  return async () => {
    const svc = await startService(env, mkdtempSync(join(tmpdir(), "mend-cpu-")), { entryPath: entry });
    return {
      url: svc.url,
      child: svc.child,
      async stop() {
        await svc.stop();
        rmSync(svc.dataDir, { recursive: true, force: true });
      },
    };
  };
}

const THREE_CALLS =
  "const a = await tools.echo({ text: 'a' });\nconst b = await tools.echo({ text: a.text + 'b' });\nconst c = await tools.echo({ text: b.text + 'c' });\nreturn c.text;";
let nonce = 0;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      entry: { type: "string", multiple: true },
      bare: { type: "boolean" },
      n: { type: "string", default: "2000" },
      c: { type: "string", default: "8" },
      rounds: { type: "string", default: "3" },
      env: { type: "string", multiple: true },
      envb: { type: "string", multiple: true },
    },
  });
  const env = Object.fromEntries((values.env ?? []).map((kv) => kv.split("=", 2) as [string, string]));
  const envB = values.envb
    ? Object.fromEntries(values.envb.map((kv) => kv.split("=", 2) as [string, string]))
    : undefined;
  const entries = values.entry ?? [new URL("../../dist/mend.js", import.meta.url).pathname];
  const arms: Arm[] = entries.map((e, i) => ({
    label: `mend[${i}] ${e}`,
    start: startMend(e, env),
    path: "/v1/executions",
    body: (code) => ({ sandbox: "codemode", engine: "quickjs", code }),
  }));
  if (envB)
    arms.push({
      label: `mend[env b] ${JSON.stringify(envB)}`,
      start: startMend(entries[0]!, { ...env, ...envB }),
      path: "/v1/executions",
      body: (code) => ({ sandbox: "codemode", engine: "quickjs", code }),
    });
  if (values.bare)
    arms.push({
      label: "bare",
      start: () => startBareHono({ engine: true }),
      path: "/codemode",
      body: (code) => ({ code }),
    });
  const n = Number(values.n);
  const c = Number(values.c);
  const servers = await Promise.all(arms.map((a) => a.start()));
  const clients: HttpClient[] = servers.map((s) => httpClient(s.url, { maxSockets: 32 }));
  const totals = arms.map(() => new Map<string, number>());
  const counts = arms.map(() => 0);
  const walls = arms.map(() => 0);
  try {
    const ops = arms.map((a, i) => async () => {
      const t = `p${++nonce}-`;
      const res = await clients[i]!.json<{ status: string; result: unknown }>(
        "POST",
        a.path,
        a.body(THREE_CALLS.replace("'a'", `'${t}a'`)),
      );
      if (res.status !== "succeeded" || res.result !== `${t}abc`) throw new Error(JSON.stringify(res));
    });
    for (const op of ops) await sequential(0, 300, op);
    for (let round = 0; round < Number(values.rounds); round++) {
      for (let i = 0; i < arms.length; i++) {
        const pid = servers[i]!.child.pid!;
        const before = threadCpuMs(pid);
        const r = await closedLoop(n, c, ops[i]!);
        const after = threadCpuMs(pid);
        if (r.failures.fields().failures > 0)
          throw new Error(`${arms[i]!.label}: ${r.failures.messages().join("; ")}`);
        for (const [tid, t] of after) {
          const g = groupOf(pid, tid, t.name);
          totals[i]!.set(g, (totals[i]!.get(g) ?? 0) + t.ms - (before.get(tid)?.ms ?? 0));
        }
        counts[i]! += r.samplesMs.length;
        if (round === 0)
          console.log(arms[i]!.label, "busy threads:", JSON.stringify([...busyCounts(pid, before, after)]));
        walls[i]! += r.wallMs;
      }
    }
  } finally {
    for (const cl of clients) cl.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
  for (let i = 0; i < arms.length; i++) {
    const per = (ms: number) => (ms / counts[i]!).toFixed(3);
    const sum = [...totals[i]!.values()].reduce((a, b) => a + b, 0);
    const parts = [...totals[i]!.entries()]
      .filter(([, ms]) => ms > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([g, ms]) => `${g} ${per(ms)}`);
    console.log(
      `${arms[i]!.label}: ${((counts[i]! / walls[i]!) * 1000).toFixed(0)}/s, CPU ms/exec total ${per(sum)} = ${parts.join(", ")}`,
    );
  }
}

if (import.meta.main) await main();
