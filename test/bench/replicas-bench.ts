// Issue 16 replicas: client steps/s and code-mode executions/s on SQLite (1 process), PostgreSQL (1 replica)
// and PostgreSQL (3 replicas, requests round-robin); takeover after SIGKILL; SSE across replicas; hosted runs
// spread over 3 replicas and their memory. Every failure is counted in its row.
import { startService } from "../support/service-process.ts";
import { postgresServer } from "../support/postgres-server.ts";
import { startReplicaSet, until, type ReplicaSet } from "../support/replica-set.ts";
import { openSse } from "../support/sse-reader.ts";
import { startFakeLlm } from "../support/fake-llm.ts";
import { callTool, finish } from "../support/fake-llm-turns.ts";
import { call } from "../support/http-json.ts";
import { closedLoop, rowOf } from "./load.ts";
import { memoryFields, procMemory } from "./proc-memory.ts";
import { summarize, type Row } from "./stats.ts";

const STEPS = 600;
const EXECUTIONS = 200;
const CONCURRENCY = 8;
const KILLS = 5;
const HOSTED = 300;

let uniq = 0;
const echoes = () => {
  const t = `e${uniq++}-${Math.random()}`;
  return `const a = await tools.echo({ text: '${t}a' });\nconst b = await tools.echo({ text: a.text + 'b' });\nconst c = await tools.echo({ text: b.text + 'c' });\nreturn c.text;`;
};

/** Steps and code-mode executions/s against the given URLs (round-robin per request). */
async function throughputRows(label: string, urls: string[]): Promise<Row[]> {
  let turn = 0;
  const next = () => urls[turn++ % urls.length]!;
  const runs: string[] = [];
  for (let i = 0; i < CONCURRENCY; i++)
    runs.push((await call(next(), "POST", "/v1/runs", { mode: "client" })).body.id);
  const step = async (i: number, action: unknown) => {
    const r = await call(next(), "POST", `/v1/runs/${runs[i % CONCURRENCY]}/steps`, {
      key: `s${i}-${uniq++}`,
      action,
    });
    if (r.status !== 200 || r.body.status !== "succeeded")
      throw new Error(`${r.status} ${JSON.stringify(r.body).slice(0, 120)}`);
  };
  const steps = await closedLoop(STEPS, CONCURRENCY, (i) =>
    step(i, { type: "tool", tool: "echo", args: { text: `t${i}-${uniq++}` } }),
  );
  const execs = await closedLoop(EXECUTIONS, CONCURRENCY, (i) =>
    step(i, { type: "codemode", code: echoes() }),
  );
  return [
    rowOf(`${label}: client tool steps`, steps, { withThroughput: true }),
    rowOf(`${label}: code-mode executions (3 cache-missing echo calls)`, execs, { withThroughput: true }),
  ];
}

/** The issue16-replicas section. */
export async function benchReplicas(): Promise<Row[]> {
  const avail = await postgresServer({ own: true, options: ["-c", "max_connections=300"] });
  if (!avail.server) return [{ name: `replicas: no PostgreSQL (${avail.reason})`, n: 1, failures: 1 }];
  const server = avail.server;
  const rows: Row[] = [];
  const sets: ReplicaSet[] = [];
  try {
    // Throughput: SQLite, PostgreSQL with 1 replica, PostgreSQL with 3.
    const sqlite = await startService();
    try {
      rows.push(...(await throughputRows("SQLite, 1 process", [sqlite.url])));
    } finally {
      await sqlite.stop("SIGKILL");
    }
    const one = await startReplicaSet(server, { replicas: 1 });
    sets.push(one);
    rows.push(...(await throughputRows("PostgreSQL, 1 replica", one.urls())));
    await one.close();
    const three = await startReplicaSet(server, { replicas: 3 });
    sets.push(three);
    rows.push(...(await throughputRows("PostgreSQL, 3 replicas", three.urls())));

    // SSE across replicas: steps executed on replica 2, streamed from replica 1; event `at` → client.
    const id = (await call(three.slots[1]!.url, "POST", "/v1/runs", { mode: "client" })).body.id as string;
    const stream = await openSse(three.slots[0]!.url, id);
    const lat: number[] = [];
    let sseFailures = 0;
    try {
      for (let i = 0; i < 100; i++) {
        const r = await call(three.slots[1]!.url, "POST", `/v1/runs/${id}/steps`, {
          key: `sse${i}`,
          action: { type: "tool", tool: "echo", args: { text: String(i) } },
        });
        if (r.status !== 200) {
          sseFailures++;
          continue;
        }
        const ev = await stream
          .waitFor(
            (e) => e.event === "step.completed" && (e.data as { key: string }).key === `sse${i}`,
            `sse${i}`,
            30_000,
          )
          .catch(() => null);
        if (!ev) {
          sseFailures++;
          continue;
        }
        const at = Number(
          (await three.sql<{ at: string }>("SELECT at FROM events WHERE id = $1", [ev.id]))[0]!.at,
        );
        lat.push(ev.at + performance.timeOrigin - at);
      }
    } finally {
      stream.close();
    }
    rows.push(
      summarize("SSE across replicas (LISTEN/NOTIFY): event committed → client", lat, {
        failures: sseFailures,
      }),
    );
    await three.close();

    // Takeover after SIGKILL and hosted runs across 3 replicas (fake LLM).
    const llm = await startFakeLlm({
      latencyMs: 200,
      script: (_req, turn) => (turn < 10 ? callTool("echo", { text: `turn ${turn}` }) : finish("done")),
    });
    try {
      const env = { MEND_LLM_PROVIDER: "openai", MEND_LLM_BASE_URL: llm.url, MEND_LLM_MODEL: "fake" };
      const hosted = await startReplicaSet(server, { replicas: 3, env });
      sets.push(hosted);
      const runIds: string[] = [];
      let createFailures = 0;
      for (let i = 0; i < HOSTED; i++) {
        const r = await call(hosted.next().url, "POST", "/v1/runs", { mode: "hosted", goal: `bench ${i}` });
        if (r.status === 201) runIds.push(r.body.id as string);
        else createFailures++;
      }
      const peak = [0, 0, 0];
      const atOnce = [0, 0, 0];
      const t0 = performance.now();
      await until(
        async () => {
          const owners = await hosted.sql<{ lease_owner: string; n: string }>(
            "SELECT lease_owner, count(*) AS n FROM runs WHERE status = 'running' AND lease_owner IS NOT NULL GROUP BY 1",
          );
          hosted.slots.forEach((s, i) => {
            const m = procMemory(s?.child.pid);
            if (m) peak[i] = Math.max(peak[i]!, m.peakRssMb);
            const n = owners.find((o) => o.lease_owner.split("/")[1] === String(s?.child.pid));
            atOnce[i] = Math.max(atOnce[i]!, Number(n?.n ?? 0));
          });
          const left = await hosted.sql<{ n: string }>(
            "SELECT count(*) AS n FROM runs WHERE status = 'running'",
          );
          return Number(left[0]!.n) === 0;
        },
        "every hosted run to finish",
        600_000,
      );
      const ok = await hosted.sql<{ n: string }>("SELECT count(*) AS n FROM runs WHERE status = 'succeeded'");
      rows.push({
        name: `${HOSTED} hosted runs × 10 turns over 3 replicas (fake LLM 200 ms)`,
        n: HOSTED,
        failures: createFailures + (runIds.length - Number(ok[0]!.n)),
        throughputPerS: Math.round((Number(ok[0]!.n) / ((performance.now() - t0) / 1000)) * 10) / 10,
        peakRssMb: Math.max(...peak),
        memory: `peak RSS ${peak.map((p) => Math.round(p)).join("/")} MiB with at most ${atOnce.join("/")} runs driven at once`,
      });

      // Takeover: 12 long hosted runs, 5 SIGKILLs; kill → the victim's runs' next step.started.
      const long = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const r = await call(hosted.next().url, "POST", "/v1/runs", { mode: "hosted", goal: `long ${i}` });
          return r.body.id as string;
        }),
      );
      const takeovers: number[] = [];
      let missed = 0;
      for (let k = 0; k < KILLS; k++) {
        const slot = k % 3;
        const pid = hosted.slots[slot]!.child.pid;
        await until(
          async () => {
            const rows = await hosted.sql(
              "SELECT 1 FROM runs WHERE id = ANY($1) AND lease_owner LIKE $2 AND status = 'running'",
              [long, `%/${pid}/%`],
            );
            return rows.length > 0;
          },
          "a run driven by the victim",
          30_000,
        ).catch(() => undefined);
        const theirs = await hosted.sql<{ id: string }>(
          "SELECT id FROM runs WHERE id = ANY($1) AND lease_owner LIKE $2 AND status = 'running'",
          [long, `%/${pid}/%`],
        );
        const at = Date.now();
        await hosted.stop(slot, "SIGKILL");
        for (const r of theirs) {
          const next = await until(
            async () => {
              const e = await hosted.sql<{ at: string }>(
                "SELECT min(at) AS at FROM events WHERE run_id = $1 AND type = 'step.started' AND at > $2",
                [r.id, at],
              );
              return e[0]?.at ? Number(e[0].at) : undefined;
            },
            "the next step",
            30_000,
          ).catch(() => undefined);
          if (next === undefined) missed++;
          else takeovers.push(next - at);
        }
        await hosted.start(slot);
      }
      rows.push(
        summarize(
          `takeover after SIGKILL (${KILLS} kills, 12 hosted runs): kill → next step started`,
          takeovers,
          {
            failures: missed,
            target: { metric: "p50Ms", atMost: 3_000 },
            ...memoryFields("replica 1", hosted.slots[0]?.child.pid),
          },
        ),
      );
    } finally {
      await llm.close();
    }
  } finally {
    for (const s of sets) await s.close();
    await server.stop();
  }
  return rows;
}
