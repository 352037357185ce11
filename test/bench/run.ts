// `npm run bench`: every benchmark of issues 2-6, 14, 15 (destinations, egress), 17, 19, 20 (heal, fork) and 21 side by side in one run, as markdown tables with targets.
//
// Usage:
//   npm run bench                               all sections (~6-10 min on the 2-core machine)
//   node test/bench/run.ts --only issue5        one section (comma-separated list: --only issue3,issue5)
//   node test/bench/run.ts --only issue6 --runs 500   issue 6 with another number of concurrent runs
//
// Writes bench/results/<issue>.md (one table per issue) and bench/results/summary.md (rows with a target or
// failures, for the sections of this invocation), and prints them. Every table row shows n, failures (any
// failed request or execution counts; a row with failures is marked FAILED whatever its figures), p50/p99,
// throughput, memory, the target and pass/MISS. The exit code is 1 when a row has failures or a section
// stopped on a host fault; a missed target alone exits 0 (benchmarks are not tests).
// Load generators run in this process, the service in a child process: both share the machine's cores.
// The service is the bundle, dist/mend.js (as npm start and the image run it), rebuilt first when stale.
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { benchAgents } from "./agents-bench.ts";
import { benchCheckpointsInProcess } from "./checkpoint-bench.ts";
import { benchCodeModeInProcess } from "./codemode-bench.ts";
import { benchCodeModeHttp } from "./codemode-http-bench.ts";
import { benchCodeModeHttpPeers, benchCodeModeInProcessPeers } from "./codemode-peer-bench.ts";
import { benchContainers } from "./container-bench.ts";
import { benchPoolBursts } from "./pool-bench.ts";
import { benchDestinations } from "./destination-bench.ts";
import { benchEgress } from "./egress-bench.ts";
import { benchFairness } from "./fairness-bench.ts";
import { benchForks } from "./fork-bench.ts";
import { benchHostedRuns } from "./hosted-runs-bench.ts";
import { benchHeal } from "./heal-bench.ts";
import { benchPythonHttp, benchPythonInProcess, benchPythonResume } from "./python-bench.ts";
import { renderSummary, renderTable, writeResults, type Table } from "./report.ts";
import { benchResume } from "./resume-bench.ts";
import { benchSqliteDrivers } from "./sqlite-drivers.ts";
import { benchPostgresDrivers } from "./postgres-drivers.ts";
import { benchStoreSteps } from "./store-steps-bench.ts";
import { benchQuotas } from "./quotas-bench.ts";
import { benchReplicas } from "./replicas-bench.ts";
import { benchStepsHttp } from "./steps-http-bench.ts";
import { benchDurableSteps } from "./durable-steps-bench.ts";
import { benchRecovery } from "./recovery-bench.ts";
import { benchRuntimes } from "./runtimes-bench.ts";
import { benchEngines } from "./engines-bench.ts";
import { benchSqlCounts } from "./sql-counts-bench.ts";
import type { Row } from "./stats.ts";
import { useDist } from "../support/service-process.ts";

const RESULTS_DIR = new URL("../../bench/results", import.meta.url).pathname;
const SHARED_CORES =
  "Load generators (and the fake LLM) run in the bench process, the service in a child process: both share the machine's 2 cores.";

interface Section {
  id: string;
  title: string;
  notes: string[];
  measure(opts: { runs: number }): Promise<Row[]>;
}

const SECTIONS: Section[] = [
  {
    id: "engines",
    title: "Issue 16 — several Docker engines: placement, and SIGKILL of one engine",
    notes: [
      "MultiEngineRunner over the machine's engine (local) and a second dockerd of the bench's own (test/support/second-dockerd.ts: own socket, data root and network namespace, images loaded with docker save | docker load). Placement without warm pool; kill rounds with a warm pool of 1 on each engine (the service's default is 2).",
      "Kill rows: one `time.sleep(60)` job on each engine, SIGKILL of the second dockerd; lost = kill → the job on it answered container_lost (or sandbox_unavailable); succeeded = kill → a `print(6*7)` started at once (as the remediation's retry) succeeded on local. The second dockerd is restarted between rounds; its orphans are removed by the runner when it answers.",
    ],
    measure: async () => benchEngines(),
  },
  {
    id: "issue2",
    title: "Issue 2 — embedded store: node:sqlite vs better-sqlite3",
    notes: [
      "One step journaled as INSERT + UPDATE in WAL mode with synchronous=NORMAL, then point reads; 20,000 each, same process, fresh files.",
      "The store (service/src/store/sqlite/) uses node:sqlite.",
    ],
    measure: async () => benchSqliteDrivers(20_000),
  },
  {
    id: "issue16-driver",
    title: "Issue 16 — PostgreSQL store: pg vs postgres.js on the journal's statements",
    notes: [
      "A throwaway local cluster per configuration (scripts/postgres.sh, PostgreSQL 15, loopback TCP); one fresh database with the journal's tables; both drivers in this process, pool of 16, prepared statements; 3 interleaved rounds of 1,000 sequential operations each (after a warm-up), then 16 concurrent runs claiming + ending steps.",
      "claim = the store's transaction: BEGIN; lock the run row (FOR NO KEY UPDATE); read the step; INSERT … RETURNING; COMMIT. end = UPDATE … RETURNING; tool-call = INSERT … ON CONFLICT; event = INSERT … RETURNING id; point read = SELECT by (run, key).",
      "durable = production settings (fsync, synchronous_commit on): the commit's WAL flush dominates writes. async commit = synchronous_commit=off: closer to the driver's own cost.",
      "The store (service/src/store/postgres/) uses pg: equal or faster on most rows here, tighter p99, and the explicit client/pool model the store needs (transactions, advisory locks).",
    ],
    measure: async () => benchPostgresDrivers(),
  },
  {
    id: "issue16-store",
    title: "Issue 16 — one journaled step through the Store: SQLite beside PostgreSQL",
    notes: [
      "claimStep + endStep (fenced by attempt) on a tool step, as the step lifecycle journals it; 2,000 sequential steps on one run, then 16 concurrent runs (2,000 steps in all). No HTTP, no execution: the store's own cost.",
      "SQLite: a temp file, WAL, synchronous=NORMAL (survives a killed process). PostgreSQL: a throwaway local cluster with production durability (fsync, synchronous_commit on), pool of 16, over loopback TCP.",
    ],
    measure: async () => benchStoreSteps(),
  },
  {
    id: "issue15-quotas",
    title: "Issue 15 — quotas per tenant: a tool step through the Store before and after",
    notes: [
      "claimStep + endStep of a tool step on one run, 3 interleaved rounds of 500 per arm (after 50 warm-up steps). Before: the same schema with the usage triggers dropped (no counters, no check). After: tenant_usage kept by triggers in the same transaction, the quota checked inside the write.",
      "SQLite: temp files, WAL, synchronous=NORMAL. PostgreSQL: a throwaway local cluster with production durability, over loopback TCP; each write upserts (and so locks) the tenant's usage row until it commits.",
      "/s is steps per second of the arm's own busy time.",
    ],
    measure: async () => benchQuotas(),
  },
  {
    id: "issue16-replicas",
    title: "Issue 16 — replicas on one PostgreSQL database",
    notes: [
      "Each configuration is real `mend serve` processes: SQLite on one process; PostgreSQL (a throwaway local cluster, production durability) with 1 replica and with 3, requests round-robin, 8 in flight.",
      "SSE: steps executed on replica 2, streamed from replica 1 (LISTEN/NOTIFY); latency from the event's commit time to its arrival at the client.",
      "Hosted runs: a fake LLM (200 ms per turn) asks for 10 echo calls per run; peak RSS (VmHWM) of each replica and the most runs each drove at once.",
      "Takeover: SIGKILL of the replica driving some of 12 long hosted runs; time to the next step started on another replica. Its floor is the replica TTL (2 s) plus the 0.5 s sweep.",
      "Three replicas on one 2-core machine add availability, not throughput: they share the cores and the database.",
    ],
    measure: async () => benchReplicas(),
  },
  {
    id: "issue3",
    title: "Issue 3 — code-mode: QuickJS and V8, in process and over HTTP",
    notes: [
      "(a)/(c) in process: `engine.execute` timed from the host, a fresh sandbox per execution, echo tool answered by the host; QuickJS with 2 warm workers.",
      "(b)/(c) over HTTP: POST /v1/executions to the real service (child process, journaled in SQLite). Unless said otherwise each execution's echo arguments are new, so every call misses the default policy's echo cache and writes an entry; the cache-hit and sleep({ms:0}) variants are listed for comparison.",
      "(d) ratio = QuickJS p50 / V8 p50 on the same 1e6-iteration script; V8's figure includes creating the isolate.",
      "(e) the floor of (b): a bare Hono JSON route on @hono/node-server in its own child process (test/bench/bare-hono-server.ts).",
      "The service runs MEND_CODEMODE_WORKERS=4 QuickJS workers (its default), each hosting many guests (a guest awaiting a tool holds no worker); the bare Hono route's engine runs 2; the last rows repeat the throughput with 8 workers.",
      "Side by side (issue 17), interleaved in 4 rounds: in process, the engine against bare quickjs-emscripten with a new runtime per run on the host thread and in one worker thread (test/bench/peers/bare-quickjs*.ts); over HTTP, the journaled service against a bare Hono route running the same script on the same engine (bare-hono-server.ts --engine), 3 cache-missing echo calls per execution, at 1, 8 and 32 in flight, with each server's CPU per execution (/proc).",
      SHARED_CORES,
    ],
    measure: async () => [
      ...(await benchCodeModeInProcessPeers()),
      ...(await benchCodeModeHttpPeers()),
      ...(await benchCodeModeInProcess()),
      ...(await benchCodeModeHttp()),
    ],
  },
  {
    id: "issue4",
    title: "Issue 4 — container sandbox: print(6*7) in python, end to end over HTTP",
    notes: [
      "POST /v1/executions {sandbox: container, image: python, code: print(6*7)} against the real service; stdout must be 42.",
      "Warm: the service with MEND_POOL_SIZE=2 and MEND_POOL_MAX=2 (a fixed pool); before each timed request the bench waits (untimed) until exactly 2 pooled containers run; a request is a pool hit when the pool refills after it.",
      "Cold: MEND_POOL_SIZE=0. 8 concurrent clients: 40 requests, closed loop. Memory: the service's VmRSS/VmHWM.",
      "Adaptive pool (test/bench/pool-bench.ts): the service with MEND_POOL_SIZE=2, MEND_POOL_MAX=8, MEND_POOL_IDLE_MS=5000 and MEND_CONTAINER_SLOTS=8 (8 containers at once; the default here is 4); bursts of 8 until one has no miss (the pool grows), then 6 timed bursts of 8, each after the pool is full again (untimed), interleaved with the same burst through an in-process DockerRunner holding 8 warm containers (the floor); then 40 requests at 8 in flight with the grown pool, beside dockerode create/start/wait/rm at 8 in flight (the peer). Pool size and memory are the service's /metrics gauges (idle containers' cgroups, as docker stats counts memory).",
      SHARED_CORES + " dockerd and containerd use them too.",
    ],
    measure: async () => [...(await benchContainers()), ...(await benchPoolBursts())],
  },
  {
    id: "issue5",
    title: "Issue 5 — checkpoints: journaling overhead, steps/s, replay, cache hit, resume after kill -9",
    notes: [
      "In process: SqliteStore on a temp file; services from createServices(loadConfig(...), logger, {containers: false}) with the repository's policies; caller = local tenant, default policy.",
      "Over HTTP: the real service; steps are POST /v1/runs/{id}/steps {key, action: {type: tool, tool: sleep, args: {ms: 0}}} with distinct keys over 1,000 client runs (each run's steps in order).",
      "Replay (ii) is 200 sequential HTTP round trips; (i) is the same through RunService.step without HTTP.",
      "Resume: the service of the HTTP rows is killed with SIGKILL (16 sleep steps in flight), restarted on the same data dir, and timed from spawn to the answer of a replayed step; 3 rounds.",
      SHARED_CORES,
    ],
    measure: async () => {
      const rows = await benchCheckpointsInProcess();
      const http = await benchStepsHttp();
      rows.push(...http.rows, ...(await benchResume(http.journaled)));
      return rows;
    },
  },
  {
    id: "issue21",
    title: "Issue 21 — Python code-mode on Monty beside QuickJS and V8; resume from snapshot vs replay",
    notes: [
      "The same script in Python and JavaScript: 3 dependent echo calls (`tools.echo(text=...)` / `await tools.echo({ text })`), the echo answered by the host.",
      "In process: `engine.execute` from the bench; monty = MontyEngine with 2 child processes (each running Monty on a 256 MiB-stack thread), its snapshot dumped at every call; the '@pydantic/monty in this process' row is the interpreter alone (no child process, no broker, no journal): the difference is the cost of crash isolation.",
      "(f) a 50-call script with some work between calls, interrupted after call k: resumed from the interpreter snapshot at call k (the script is not re-run, calls 1..k neither made nor replayed) versus replayed from the tool-call journal (script re-run from the top, calls 1..k answered from the journal); in-memory journal, same engine.",
      "(g) the same 50-call script journaled in a real SQLite store (StoreToolJournal), with and without the snapshot saved at every call (a snapshot of ≤ 64 KiB is written inside its pointer row; larger ones go to the blob store).",
      "(h) over HTTP: POST /v1/executions of the same script to the real service (child process), one service for the three engines, new echo arguments each time (cache misses). The service's memory column does not include the Monty child processes.",
      SHARED_CORES,
    ],
    measure: async () => [
      ...(await benchPythonInProcess()),
      ...(await benchPythonResume()),
      ...(await benchPythonHttp()),
    ],
  },
  {
    id: "issue6",
    title: "Issue 6 — concurrent hosted runs against the fake LLM",
    notes: [
      "Fake OpenAI-compatible model (test/support/fake-llm.ts) in the bench process, 200 ms per answer; each run: 9 turns of run_orchestration('return 1'), then finish. Policy: the default with budgets raised (iterations 50, onExhausted fail).",
      "Step overhead = time from the fake model finishing writing turn k's answer to receiving the run's request for turn k+1 (9 samples per run): everything Mend does between two model calls, queueing behind the other runs included.",
      "Service CPU per turn: the service process's utime+stime (/proc/<pid>/stat, all threads) over the phase, divided by the turns.",
      "Floor (after each size, the service stopped): test/bench/peers/hosted-floor-child.ts in a process of its own runs as many loops at once, each 10 turns of one streamed undici call to a fake model (200 ms, the same answer) sending a request Mend sent (turn 5 of a run), then one 'return 1' in Mend's QuickJS engine (4 workers, as the service); also each part alone (the engine after a 200 ms wait instead of the call); up to 2,000 runs (at 10,000 loops the floor's engine is swamped, executions queued by thousands, for many minutes). Its CPU per turn (process.cpuUsage, all threads) is what Mend's turn costs at least; Mend minus floor is what Mend adds.",
      "If the full size has any failure, the section also runs 500 runs on a fresh service. At the default size (2,000) it then runs 10,000 runs on a fresh service (issue 17's target: 10,000 concurrent hosted runs within 1 GiB RSS; --runs N runs only N). It always ends with 50 runs (light load) on a fresh service, for the overhead of a service that is not saturated.",
      "Runs at once = runs between their first model request and their last answer, counted at the fake model. Service answer time = a GET /v1/runs polled every 250 ms during the phase: the wait behind the runs' work on the event loop.",
      SHARED_CORES,
    ],
    measure: async ({ runs }) => benchHostedRuns(runs, 500, 50, runs === 2000 ? 10_000 : 0),
  },
  {
    id: "issue17",
    title: "Issue 17 — hot path: durable steps side by side with Restate (and DBOS)",
    notes: [
      "Each workflow makes 200 trivial durable steps in order, each journaled before the next; 16 workflows run at once, then one alone; rounds interleave the systems (Mend, then Restate, …) so they share the same machine state; the throughput is the median round.",
      "Mend: the real service (child process, SQLite) driven over HTTP by client-driven runs — a tool step the service executes (sleep 0), and the caller's own step journaled with run.step (PUT checkpoint), the counterpart of Restate's ctx.run.",
      "Restate: restate-server from @restatedev/restate-server and an SDK endpoint (@restatedev/restate-sdk) in child processes on loopback, invoked through its HTTP ingress; per-step times measured inside the handler around ctx.run.",
      "DBOS: @dbos-inc/dbos-sdk in a child process (test/bench/peers/dbos-app.ts) on a PostgreSQL 15 cluster of its own with synchronous_commit=off — like Mend's SQLite (WAL, synchronous=NORMAL), its commits survive a crash of the process, not a power cut.",
      "Floor: the same journal writes through Mend's own SqliteStore (same statements, group commit, answered after the COMMIT) behind a bare node:http server in its own process (test/bench/peers/bare-steps-server.ts) — a tool step's claim then end, a caller's step's claim + end in one write. Mend ÷ floor is what the edge and the engine add; floor ÷ Restate is how far Node + SQLite alone get on this machine.",
      "CPU per step: user + system time of each system's own processes (Mend's service; Restate's server and SDK endpoint; the DBOS app, not its PostgreSQL) during the 16-workflow rounds, divided by the steps — less sensitive than wall time to the other load on the machine.",
      "Recovery: each system's process executing the workflow (Mend's service; Restate's SDK endpoint; the DBOS app) is SIGKILLed right after step 100 is journaled and started again at once; the clock runs from the kill.",
      SHARED_CORES,
    ],
    measure: async () => [
      ...(await benchSqlCounts()),
      ...(await benchDurableSteps({ workflows: 16, steps: 200, rounds: 3 })),
      ...(await benchRecovery(3)),
    ],
  },
  {
    id: "issue19",
    title: "Issue 19 — what agents meet: MCP calls, failure size over MCP, the replay input check",
    notes: [
      "The real service (child process); the official MCP SDK client over Streamable HTTP (the endpoint is stateless: one MCP server per request) and a keep-alive HTTP client, one request at a time.",
      "(c) a code-mode heap blow-up (limits.memoryMb 8) called through MCP: the text content is what most MCP clients show a model; `before` re-renders the same answer as the endpoint did before issue 19.",
      "(d)/(e) POST /v1/runs/{id}/steps of an already journaled key: with the canonical input compared to the journaled hash, and without.",
      SHARED_CORES,
    ],
    measure: async () => benchAgents(),
  },
  {
    id: "issue14",
    title: "Issue 14 — fair share: tenant B alone vs under tenant A's flood; parked QuickJS guests",
    notes: [
      "In process: one QuickJS engine with a single worker (no burst workers); tenant a parks 2,000 scripts awaiting a 60 s sleep on it, tenant b's scripts are timed before and beside them. Ratio = p99 beside the parked guests / p99 with the worker empty.",
      "Over HTTP: the real service (MEND_POOL_SIZE=2, 4 QuickJS workers) with two API keys. Tenant B runs three clients in parallel, one per kind (QuickJS `return 6*7`, V8 `return 6*7`, a python container `print(6*7)`), sequential each; 15 s alone, then during each flood (the flood runs 3 s before B is timed).",
      "Flood 1 (issue 14's hostile tenant): 64 scripts awaiting `sleep(20000)`, 8 relay executions whose client tool has a catastrophic pattern (^a*a*a*$, ^(a+){25}$, …) called 5× with 2,000 a's and '!', and deep payloads on every bridge direction in a loop (tool arguments 10,000 deep in both engines, a result and a console.log 9,000 deep, metadata 100,000 deep, MCP arguments 10,000 deep, an empty Idempotency-Key, a relay answer 1,000 deep). Flood 2: 8 QuickJS and 8 V8 scripts `while (true)` with a 5 s limit, restarted as they time out.",
      "Ratio = B's p99 under the flood / B's p99 alone, target ≤ 3 (issue 14).",
      SHARED_CORES + " dockerd and containerd use them too.",
    ],
    measure: async () => benchFairness(),
  },
  {
    id: "heal",
    title:
      "Issue 20 — self-healing: faults injected into hosted runs (npm run bench:heal has 10 runs per fault)",
    notes: [
      "One service (warm pool off, so a container carries its run's label from creation) and a scripted model that follows each failure's remedy; 3 runs per fault here, one at a time.",
      "Recovery (p50/p99): from the fault — the kill for a container killed from outside, else the failed step's end (or the first model request for LLM faults) — to the start of the step that then succeeded; for LLM faults to the end of the model step that answered. The notes add the time to the end of the healed step, which includes the healed job's own run time.",
      "The scripted model answers at once: a real model's turn adds its own latency to every heal by the model.",
      SHARED_CORES,
    ],
    measure: async () => benchHeal(3),
  },
  {
    id: "issue20-fork",
    title: "Issue 20 — forking a run: the journal copied in one transaction",
    notes: [
      "Store.forkRun of a client run whose 10, 100 or 1,000 finished steps are all copied (atSeq = n + 1), 30 forks per size after 2 warm-up rounds, sizes interleaved; beside it, the same 100 steps journaled one by one into a new run (claimStep + endStep each): what a fork saves before it continues live.",
      "SQLite: a temp file, WAL, synchronous=NORMAL. PostgreSQL: a throwaway local cluster with production durability (fsync, synchronous_commit on), over loopback TCP.",
      "HTTP: POST /v1/runs/{id}/fork of a 100-step client run against the real service (SQLite), sequential, 5 warm-up requests.",
    ],
    measure: async () => benchForks(),
  },
  {
    id: "issue15-ssrf",
    title:
      "Issue 15 — the destination policy (SSRF): the decision, and requests through the guarded dispatcher",
    notes: [
      "In process, loopback only. The decision: checkDestination with two network.allow rules and loopback open (MEND_NETWORK_ALLOW_LOOPBACK), 20,000 sequential calls each.",
      "Requests: GET to a loopback node:http server, sequential, 3 interleaved rounds of 400 per variant. `new connection` rows: the server answers Connection: close, so every request dials (where the guard resolves, decides and connects to the checked address); `kept connection` rows reuse a keep-alive socket (the check ran once, when it was opened).",
      "Throughput = 1 / mean latency of one sequential client.",
    ],
    measure: async () => benchDestinations(),
  },
  {
    id: "issue15-egress",
    title: "Issue 15 — container egress allowlist: the proxy's cost per new connection",
    notes: [
      `One python container on an allowlist network (its own internal Docker network, Mend's proxy on the gateway, host firewall rules); inside it, ${200} rounds of three variants interleaved, each a new TCP connection + GET timed by the container's python (http.client, perf_counter).`,
      "Cold jobs: 10 `print(1)` jobs with network none and 10 with an allowlist, interleaved, no warm pool; timed around DockerRunner.run (the allowlist's network, proxy and rules are removed in the background after the outcome).",
      "No proxy: a server on the container's own loopback. Plain: an absolute-URL GET to the proxy, forwarded to an allowlisted loopback server on the host. CONNECT: a tunnel to the same server, then the GET inside it.",
      SHARED_CORES + " The proxy runs in the bench process.",
    ],
    measure: async () => benchEgress(),
  },
  {
    id: "issue15",
    title: "Issue 15 — container runtimes: runc beside runsc (gVisor), cold and warm",
    notes: [
      "In process: DockerRunner runs `print(6*7)` in the python image (stdout must be 42) with the hardened spec, Mend's seccomp profile and the host's usage read; 15 interleaved rounds of runc cold, runc warm, runsc cold, runsc warm, after one untimed execution each.",
      "Cold: a runner without a pool (create + attach + start + job + usage read). Warm: a runner with one pooled python container per runtime; before each timed run it waits (untimed) until the pool is full; a pool miss counts as a failure.",
      "runsc is registered by scripts/setup with --network=none --oci-seccomp (ptrace platform). Where it is not registered, its rows show the failures.",
      "The bench process, dockerd, containerd and gVisor's Sentry share the machine's 2 cores.",
    ],
    measure: async () => benchRuntimes(),
  },
];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { only: { type: "string" }, runs: { type: "string", default: "2000" } },
  });
  const only = values.only?.split(",").map((s) => s.trim());
  const unknown = only?.filter((id) => !SECTIONS.some((s) => s.id === id)) ?? [];
  if (unknown.length > 0) {
    console.error(`unknown section(s) ${unknown.join(", ")}; known: ${SECTIONS.map((s) => s.id).join(", ")}`);
    return 2;
  }
  // The service runs as npm start and the image run it: the bundle (rebuilt here when it is stale).
  await useDist();
  const tables: Table[] = [];
  for (const section of SECTIONS.filter((s) => !only || only.includes(s.id))) {
    const t0 = performance.now();
    const load0 = loadavg()[0]!;
    const table: Table = { id: section.id, title: section.title, rows: [], notes: [...section.notes] };
    try {
      table.rows = await section.measure({ runs: Number(values.runs) });
    } catch (e) {
      table.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    }
    table.wallMs = performance.now() - t0;
    table.notes.push(
      `Machine load average (1 min) at start/end of this section: ${load0.toFixed(2)} / ${loadavg()[0]!.toFixed(2)} (other processes on the machine add to it).`,
    );
    tables.push(table);
    console.log(renderTable(table));
    writeResults(RESULTS_DIR, tables);
  }
  console.log(renderSummary(tables));
  console.log(`written to ${RESULTS_DIR}/`);
  const failed = tables.some((t) => t.error || t.rows.some((r) => (r.failures ?? 0) > 0));
  return failed ? 1 : 0;
}

process.exitCode = await main();
