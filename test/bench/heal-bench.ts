// `npm run bench:heal` (and section `heal` of `npm run bench`): faults injected into hosted runs driven by a
// scripted model that follows each failure's remedy; per fault, how many runs healed without a human, how
// fast, who healed them, and whether the heal shows in the journal and in what the model was sent.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFakeLlm, type FakeLlm, type Script } from "../support/fake-llm.ts";
import { containersOf, healFaults, judge, type Fault, type HealVerdict } from "../support/heal-faults.ts";
import { call } from "../support/http-json.ts";
import { startService, useDist, type ServiceProcess } from "../support/service-process.ts";
import { startEngineProxy } from "../support/engine-proxy.ts";
import { percentile, round3, type Row } from "./stats.ts";

/** The policy of the heal service: the default remediation, python allowed, a generous iteration budget. */
const POLICY = `name: default
tools:
  allow: ["echo"]
container:
  images: [python]
remediation:
  out_of_memory: { retries: 1, memoryMultiplier: 2 }
  timeout: { retries: 0 }
  disk_full: { retries: 1, diskMultiplier: 2 }
  container_lost: { retries: 2, backoffMs: 100 }
  sandbox_unavailable: { retries: 3, backoffMs: 200 }
  llm_failed: { retries: 10, backoffMs: 200 }
budgets: { iterations: 12, consecutiveFailures: 4, wallMs: 600000, tokens: 10000000, outageMs: 120000, onExhausted: ask_human }
`;

/** How long the service waits on a model call that sends nothing (the hang fault's floor). */
export const HEAL_LLM_STALL_MS = 2_000;

export interface HealService {
  svc: ServiceProcess;
  llm: FakeLlm;
  /** Runs one hosted run of `fault` to its end and judges it. */
  runOnce(fault: Fault): Promise<HealVerdict>;
  close(): Promise<void>;
}

/**
 * One service and one fake model for every fault: each run's goal names its fault and a unique token, and
 * the model answers by the script of the fault its conversation names.
 * @example const h = await startHealService(); const v = await h.runOnce(healFaults()[0]!); await h.close();
 */
export async function startHealService(): Promise<HealService> {
  const scripts = new Map<string, Script>();
  const llm = await startFakeLlm({
    script: (req, turn, ctx) => {
      for (const [token, script] of scripts)
        if (ctx.conversation.includes(token)) return script(req, turn, ctx);
      throw new Error(`no heal script for ${ctx.conversation}`);
    },
  });
  const policies = mkdtempSync(join(tmpdir(), "mend-heal-policies-"));
  writeFileSync(join(policies, "default.yaml"), POLICY);
  // The service reaches its engine through a proxy the engine fault cuts (never the machine's dockerd).
  const engine = await startEngineProxy("/var/run/docker.sock");
  const svc = await startService({
    MEND_DOCKER_SOCKET: engine.socketPath,
    MEND_POLICIES_DIR: policies,
    MEND_LLM_PROVIDER: "openai",
    MEND_LLM_BASE_URL: llm.url,
    MEND_LLM_MODEL: "fake",
    // A hung model call is given up after this long (the stall timeout when the service has one, else
    // the whole call's timeout), so the hang fault's run does not wait a minute.
    MEND_LLM_STALL_TIMEOUT_MS: String(HEAL_LLM_STALL_MS),
    MEND_LLM_TIMEOUT_MS: String(HEAL_LLM_STALL_MS * 5),
    // Containers are created per job (the pool off), so a container carries its run's label from the start.
    MEND_POOL_SIZE: "0",
  });
  let n = 0;
  return {
    svc,
    llm,
    async runOnce(fault) {
      const token = `heal-${++n}-${Date.now().toString(36)}`;
      scripts.set(token, fault.script);
      const made = await call(svc.url, "POST", "/v1/runs", {
        mode: "hosted",
        goal: `[${token}] ${fault.name}`,
      });
      if (made.status !== 201)
        throw new Error(`run creation answered ${made.status}: ${JSON.stringify(made.body)}`);
      const runId = made.body.id as string;
      const stop = new AbortController();
      const injected = fault.inject?.({ runId, signal: stop.signal, engine }).catch(() => undefined);
      let run: any;
      const deadline = Date.now() + 180_000;
      for (;;) {
        run = (await call(svc.url, "GET", `/v1/runs/${runId}`)).body;
        if (["succeeded", "failed", "cancelled", "waiting_for_input"].includes(run.status)) break;
        if (Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      stop.abort();
      const injectedAt = (await injected) ?? undefined;
      const steps = (await call(svc.url, "GET", `/v1/runs/${runId}/steps`)).body as any[];
      if (run.status === "running") await call(svc.url, "POST", `/v1/runs/${runId}/cancel`);
      const requests = llm.seen(token).map((r) => ({ body: r.body, atMs: r.atMs, status: r.status }));
      // The service removes a job's container as the job ends; wait briefly for a kill's clean-up to land.
      let left = await containersOf(runId);
      for (let i = 0; i < 40 && left > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        left = await containersOf(runId);
      }
      scripts.delete(token);
      return judge(fault, run, steps, requests, left, injectedAt);
    },
    async close() {
      await svc.stop();
      await llm.close();
      await engine.close();
    },
  };
}

const pct = (k: number, n: number) => `${Math.round((100 * k) / Math.max(1, n))} %`;
const yesNo = (vs: (boolean | null)[]) => {
  const known = vs.filter((v): v is boolean => v !== null);
  if (known.length === 0) return "n/a";
  const yes = known.filter(Boolean).length;
  return yes === known.length ? "yes" : yes === 0 ? "no" : `${yes}/${known.length}`;
};

/**
 * Runs `runsPerFault` hosted runs of every fault, one at a time, and turns the verdicts into table rows.
 * A run that did not heal without a human counts as a failure of its row.
 * @example const rows = await benchHeal(10)
 */
export async function benchHeal(runsPerFault: number, only?: string[]): Promise<Row[]> {
  const heal = await startHealService();
  const rows: Row[] = [];
  try {
    for (const fault of healFaults().filter((f) => !only || only.some((o) => f.name.includes(o)))) {
      const verdicts: HealVerdict[] = [];
      for (let i = 0; i < runsPerFault; i++) verdicts.push(await heal.runOnce(fault));
      const times = verdicts.flatMap((v) => (v.healed && v.recoveryMs !== null ? [v.recoveryMs] : []));
      const toEnd = verdicts.flatMap((v) =>
        v.healed && v.recoveredEndMs !== null ? [v.recoveredEndMs] : [],
      );
      const healers = [...new Set(verdicts.map((v) => v.healer))].join("/");
      const notHealed = verdicts.filter((v) => !v.healed);
      rows.push({
        name: fault.name,
        n: verdicts.length,
        failures: notHealed.length,
        ...(notHealed.length
          ? { failureMessages: notHealed.map((v) => `ended ${v.status} (healer ${v.healer})`) }
          : {}),
        p50Ms: times.length ? round3(percentile(times, 0.5)) : Number.NaN,
        p99Ms: times.length ? round3(percentile(times, 0.99)) : Number.NaN,
        // an outage's own length comes first: the target is to heal within 1 s of its end
        ...(fault.infra
          ? { target: { metric: "p50Ms" as const, atMost: 1000 + (fault.outageMs ?? 0) } }
          : {}),
        notes: [
          ...(fault.outageMs !== undefined && times.length
            ? [
                `outage ${fault.outageMs} ms by construction, recovery after it p50 ${Math.round(percentile(times, 0.5) - fault.outageMs)} ms`,
              ]
            : []),
          `healed w/o human ${pct(verdicts.filter((v) => v.healed).length, verdicts.length)}`,
          `paused ${pct(verdicts.filter((v) => v.paused).length, verdicts.length)}`,
          `failed ${pct(verdicts.filter((v) => !v.healed && !v.paused).length, verdicts.length)}`,
          `healed by ${healers}`,
          `to the healed step's end p50 ${toEnd.length ? Math.round(percentile(toEnd, 0.5)) : "—"} ms`,
          `journal ${yesNo(verdicts.map((v) => v.inJournal))}`,
          `model told ${yesNo(verdicts.map((v) => v.toldModel))}`,
          `right remedy ${yesNo(verdicts.map((v) => v.rightRemedy))}`,
          `containers left ${verdicts.reduce((k, v) => k + v.containersLeft, 0)}`,
        ].join(" · "),
      });
    }
  } finally {
    await heal.close();
  }
  return rows;
}

/** `npm run bench:heal [-- --runs 10] [--only timeout,OOM]`: prints the table as markdown. */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "10" }, only: { type: "string" } },
  });
  await useDist();
  const rows = await benchHeal(Number(values.runs), values.only?.split(","));
  console.log("| fault | n | not healed | recovery p50 ms | p99 ms | target | details |");
  console.log("|---|--:|--:|--:|--:|---|---|");
  for (const r of rows) {
    const target = r.target
      ? `p50 ≤ ${r.target.atMost} ms: ${r.p50Ms! <= r.target.atMost! ? "pass" : "MISS"}`
      : "";
    console.log(`| ${r.name} | ${r.n} | ${r.failures} | ${r.p50Ms} | ${r.p99Ms} | ${target} | ${r.notes} |`);
  }
  return rows.some((r) => (r.failures ?? 0) > 0) ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main();
