// The adaptive warm pool under bursts: 8 concurrent print(6*7) over HTTP once the pool has grown, the same
// burst through DockerRunner in process (the floor), dockerode create/start/wait/rm (the peer), and the
// pool's size and memory as /metrics reports them.
import { rmSync } from "node:fs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import Docker from "dockerode";
import { DEFAULT_CONTAINER_LIMITS, DockerRunner } from "@mend/sandboxes/docker";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { httpClient, type HttpClient } from "./http-client.ts";
import { closedLoop, rowOf, throughput, type LoadResult } from "./load.ts";
import { FailureTally } from "./failure-tally.ts";
import { procCpuMs } from "./proc-cpu.ts";
import { percentile, type Row } from "./stats.ts";

const exec = promisify(execFile);
const BURST = 8;
const ROUNDS = 6;
const POOL_MIN = 2;
const POOL_MAX = 8;
const IDLE_MS = 5000;
const WAIT_MS = 60_000;

/** The python pool's gauges from GET /metrics (undefined figures: the service does not report them). */
interface PoolFigures {
  target?: number;
  idle?: number;
  creating?: number;
  memoryBytes?: number;
  perContainerBytes?: number;
  hits?: number;
  misses?: number;
}

async function poolFigures(client: HttpClient): Promise<PoolFigures> {
  const { text } = await client.request("GET", "/metrics");
  const value = (name: string, extra = ""): number | undefined => {
    const re = new RegExp(`^${name}\\{[^}]*image="python"[^}]*${extra}[^}]*\\} (\\S+)$`, "m");
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return {
    target: value("mend_pool_target_containers"),
    idle: value("mend_pool_idle_containers"),
    creating: value("mend_pool_creating_containers"),
    memoryBytes: value("mend_pool_memory_bytes"),
    perContainerBytes: value("mend_pool_container_memory_bytes"),
    hits: value("mend_pool_requests_total", 'result="hit"'),
    misses: value("mend_pool_requests_total", 'result="miss"'),
  };
}

/** Running pooled containers of the service (labels set by DockerRunner). */
async function pooledRunning(svc: ServiceProcess): Promise<number> {
  const { stdout } = await exec("docker", [
    "ps",
    "-q",
    "--filter",
    "label=mend.pooled=1",
    "--filter",
    `label=mend.owner.pid=${svc.child.pid}`,
  ]);
  return stdout.split("\n").filter(Boolean).length;
}

/** Polls until `cond` holds; throws after WAIT_MS. Returns how long it took. */
async function until(what: string, cond: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  while (!(await cond())) {
    if (performance.now() - t0 > WAIT_MS) throw new Error(`${what}: not within ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - t0;
}

/** One print(6*7) over HTTP; returns the container runner's own wall time for it (usage.wallMs). */
async function printOverHttp(client: HttpClient): Promise<number> {
  const res = await client.json<{
    status: string;
    stdout?: string;
    failure?: { kind: string };
    usage?: { wallMs?: number };
  }>("POST", "/v1/executions", { sandbox: "container", image: "python", code: "print(6*7)" });
  if (res.status !== "succeeded" || res.stdout !== "42\n")
    throw new Error(`execution ${res.status} ${res.failure?.kind ?? ""} ${JSON.stringify(res.stdout)}`);
  return res.usage?.wallMs ?? 0;
}

/**
 * `BURST` operations at once; latencies of each, failures counted. An operation that returns the
 * runner's wall time adds its latency less that time to `outside` (the request's time outside the runner).
 */
async function burst(op: () => Promise<number | void>, into: LoadResult, outside?: number[]): Promise<void> {
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: BURST }, async () => {
      const t = performance.now();
      try {
        const runnerMs = await op();
        const ms = performance.now() - t;
        into.samplesMs.push(ms);
        if (outside !== undefined && typeof runnerMs === "number") outside.push(ms - runnerMs);
      } catch (e) {
        into.failures.add(e);
      }
    }),
  );
  into.wallMs += performance.now() - t0;
}

const emptyLoad = (): LoadResult => ({ samplesMs: [], failures: new FailureTally(), wallMs: 0 });
const mib = (b: number | undefined) => (b === undefined ? "n/a" : `${(b / 1048576).toFixed(1)} MiB`);

/** dockerode's own create → start → wait → remove of one `python3 -c print(6*7)` container. */
function dockerodeOp(docker: Docker): () => Promise<void> {
  return async () => {
    const c = await docker.createContainer({
      Image: "mend-runtime-python",
      Entrypoint: ["python3"],
      Cmd: ["-c", "print(6*7)"],
      HostConfig: { NetworkMode: "none", Memory: 256 * 1048576 },
    });
    try {
      await c.start();
      const r = (await c.wait()) as { StatusCode: number };
      if (r.StatusCode !== 0) throw new Error(`exit ${r.StatusCode}`);
    } finally {
      await c.remove({ force: true });
    }
  };
}

/**
 * Bursts of 8 concurrent warm executions over HTTP (pool grown from 2 toward 8), interleaved with the same
 * bursts in process; the first burst (the pool still small) and the shrink after idle; dockerode's peer.
 * @example console.table(await benchPoolBursts())
 */
export async function benchPoolBursts(): Promise<Row[]> {
  const rows: Row[] = [];
  const docker = new Docker({ socketPath: "/var/run/docker.sock" });
  const peer = await closedLoop(40, BURST, dockerodeOp(docker));
  rows.push(
    rowOf(`peer: dockerode create/start/wait/rm, ${BURST} concurrent`, peer, {
      withThroughput: true,
      notes: "python3 -c print(6*7) in mend-runtime-python, --network none; 40 containers, closed loop",
    }),
  );

  const svc: ServiceProcess = await startService({
    MEND_POOL_SIZE: String(POOL_MIN),
    MEND_POOL_MAX: String(POOL_MAX),
    MEND_POOL_IDLE_MS: String(IDLE_MS),
    // 8 containers at once (the default is 2 × cores, at least 4): the burst runs, it does not queue
    MEND_CONTAINER_SLOTS: String(BURST),
  });
  const client = httpClient(svc.url, { maxSockets: BURST + 2, timeoutMs: 60_000 });
  const floor = new DockerRunner({ pool: { python: POOL_MAX } });
  try {
    await floor.start();
    await printOverHttp(client); // code paths warm
    const full = async () => {
      const f = await poolFigures(client);
      // a service without the pool gauges (an older build): its pooled containers as the engine lists them
      if (f.target === undefined) return (await pooledRunning(svc)) >= POOL_MIN;
      return f.idle === f.target && f.creating === 0;
    };
    await until("the service's pool holds its minimum", full);
    const first = emptyLoad();
    await burst(() => printOverHttp(client), first);
    // more bursts (untimed) until one is served without a miss: the pool has grown to what a burst needs
    const t0 = performance.now();
    let growthBursts = 0;
    for (let misses = -1; misses !== 0 && growthBursts < 6; growthBursts++) {
      await until("the pool refills while it grows", full);
      const before = (await poolFigures(client)).misses ?? 0;
      await burst(() => printOverHttp(client), emptyLoad());
      misses = ((await poolFigures(client)).misses ?? 0) - before;
    }
    await until("the grown pool is full", full);
    const growMs = performance.now() - t0;
    const grown = await poolFigures(client);
    rows.push(
      rowOf(`first burst over HTTP: ${BURST} concurrent, pool of ${POOL_MIN} (it grows)`, first, {
        notes: `the pool then grew to ${grown.target} (MEND_POOL_MAX=${POOL_MAX}) in ${growthBursts} more bursts, ${(growMs / 1000).toFixed(1)} s`,
      }),
    );

    const http = emptyLoad();
    const outside = emptyLoad();
    const local = emptyLoad();
    let serviceCpuMs = 0;
    let atFull = grown;
    for (let round = 0; round < ROUNDS; round++) {
      // both pools full, so neither burst shares the engine with the other's refills
      await floor.poolReady(WAIT_MS);
      await until("the service's pool is full", full);
      atFull = await poolFigures(client);
      const c0 = procCpuMs(svc.child.pid) ?? 0;
      await burst(() => printOverHttp(client), http, outside.samplesMs);
      serviceCpuMs += (procCpuMs(svc.child.pid) ?? 0) - c0;
      await floor.poolReady(WAIT_MS);
      await until("the service's pool is full", full);
      await burst(async () => {
        const o = await floor.run({ image: "python", code: "print(6*7)", limits: DEFAULT_CONTAINER_LIMITS });
        if (o.status !== "succeeded" || o.stdout !== "42\n" || !o.pooled)
          throw new Error(`in process: ${o.status} pooled=${o.pooled}`);
      }, local);
    }
    const after = await poolFigures(client);
    const perExecCpu = http.samplesMs.length > 0 ? serviceCpuMs / http.samplesMs.length : undefined;
    rows.push(
      rowOf(`warm burst over HTTP: ${BURST} concurrent, pool grown (${ROUNDS} bursts)`, http, {
        target: { metric: "p50Ms", atMost: 100 },
        memory: `pool ${atFull.idle} × ${mib(atFull.perContainerBytes)} = ${mib(atFull.memoryBytes)}`,
        notes: `pool full before each burst (untimed); hits ${after.hits ?? "n/a"}, misses ${after.misses ?? "n/a"} in all; service CPU ${perExecCpu?.toFixed(1) ?? "n/a"} ms per execution`,
      }),
    );
    rows.push(
      rowOf("warm burst over HTTP: each request's time outside the container runner", outside, {
        notes:
          "latency less the runner's usage.wallMs: HTTP, auth, journaling, the slot wait; the rest is the warm job in its container",
      }),
    );
    rows.push(
      rowOf(`floor: the same burst through DockerRunner in process (pool of ${POOL_MAX})`, local, {
        notes: "no HTTP, no journal, no admission: the container round trip alone",
      }),
    );
    const p50 = (r: LoadResult) => percentile(r.samplesMs, 0.5);
    if (http.samplesMs.length > 0 && local.samplesMs.length > 0)
      rows.push({
        name: "warm burst over HTTP ÷ in process, p50",
        ratio: Math.round((p50(http) / p50(local)) * 100) / 100,
        notes: "what HTTP, journaling and admission add to a warm container execution",
      });
    await until("the service's pool is full", full);
    const sustained = await closedLoop(40, BURST, async () => {
      await printOverHttp(client);
    });
    rows.push(
      rowOf(`sustained over HTTP: 40 requests, ${BURST} in flight, pool grown`, sustained, {
        withThroughput: true,
        notes: "each container serves one job: past the pool, throughput is the engine's creation rate",
      }),
    );
    const peerTput = throughput(peer);
    if (peerTput > 0)
      rows.push({
        name: "sustained over HTTP ÷ dockerode peer, throughput",
        ratio: Math.round((throughput(sustained) / peerTput) * 100) / 100,
        notes:
          "at least 1 means Mend's hardened, journaled executions keep up with bare create/start/wait/rm",
      });
    if ((await poolFigures(client)).target === undefined) return rows;
    const shrinkMs = await until("the pool shrinks back", async () => {
      const f = await poolFigures(client);
      return f.target === POOL_MIN && f.idle === POOL_MIN;
    });
    const idle = await poolFigures(client);
    rows.push({
      name: `pool after idle (MEND_POOL_IDLE_MS=${IDLE_MS})`,
      memory: `pool ${idle.idle} × ${mib(idle.perContainerBytes)} = ${mib(idle.memoryBytes)}`,
      notes: `back to ${idle.target} containers ${(shrinkMs / 1000).toFixed(1)} s after the last burst`,
    });
  } finally {
    client.close();
    await floor.dispose();
    await svc.stop();
    rmSync(svc.dataDir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.main) console.table(await benchPoolBursts());
