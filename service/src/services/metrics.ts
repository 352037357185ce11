// Prometheus metrics (prom-client): the telemetry sink the layers report to, plus gauges read at scrape
// time (warm pool, admission). Names and labels follow Prometheus conventions (`_total`, `_seconds`).
// prom-client is imported after start-up (it was ~15 ms of the service's ~150 ms of module loading).
import type * as PromClientModule from "prom-client";
import type { Registry } from "prom-client";
import type { PoolState } from "@mend/sandboxes";
import type { Telemetry } from "../lib/telemetry.ts";

/** What the scrape-time gauges read. */
export interface MetricsSources {
  /** Idle warm containers per image reference. */
  poolIdle(): Record<string, number>;
  /** Every pooled image per engine: target, bounds, demand and memory (absent: no pool gauges). */
  poolStats?(): PoolState[];
  /** Running and queued executions per tenant. */
  admission(): Record<string, { running: number; waiting: number }>;
}

const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/** `mend-runtime-python:latest` → `python`: the name a request uses. */
const shortImage = (ref: string) => ref.replace(/^mend-runtime-/, "").replace(/:[^/]*$/, "");

/** Gauges of the adaptive warm pool, one series per pooled image, runtime and engine. */
function poolGauges(prom: PromClient, sources: MetricsSources, registers: Registry[]): void {
  const { Gauge } = prom;
  const figures: [string, string, (p: PoolState) => number | undefined][] = [
    [
      "mend_pool_target_containers",
      "Warm containers the pool aims to hold now (grows on misses, shrinks when idle).",
      (p) => p.target,
    ],
    ["mend_pool_min_containers", "Warm containers kept however idle (MEND_POOL_SIZE).", (p) => p.min],
    ["mend_pool_max_containers", "The most warm containers the pool grows to (MEND_POOL_MAX).", (p) => p.max],
    ["mend_pool_creating_containers", "Containers being created for the pool.", (p) => p.creating],
    [
      "mend_pool_in_use_executions",
      "Executions of the pooled image and limits running now (warm or cold).",
      (p) => p.inUse,
    ],
    [
      "mend_pool_memory_bytes",
      "Memory the idle warm containers hold (their cgroups, as docker stats counts it).",
      (p) => p.memoryBytes,
    ],
    [
      "mend_pool_container_memory_bytes",
      "Mean memory of one idle warm container.",
      (p) => p.memoryPerContainerBytes,
    ],
  ];
  for (const [name, help, read] of figures) {
    new Gauge({
      name,
      help,
      labelNames: ["image", "runtime", "engine"],
      registers,
      collect() {
        this.reset();
        for (const p of sources.poolStats?.() ?? []) {
          const v = read(p);
          if (v !== undefined)
            this.set({ image: shortImage(p.image), runtime: p.runtime, engine: p.engine ?? "local" }, v);
        }
      },
    });
  }
}

type PromClient = typeof PromClientModule;

/** The exposition's content type (Prometheus text format 0.0.4), as prom-client's Registry gives it. */
const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Reports kept until prom-client is loaded: more than start-up makes, few enough to bound their memory. */
const MAX_EARLY_REPORTS = 10_000;

/**
 * One registry per service: the sink to install and the exposition to serve. The sink is usable at once;
 * prom-client loads at `load()` (the service calls it shortly after listening) or at the first exposition,
 * and the reports made before it are replayed into the registry then.
 * @example const m = new Metrics(sources); installTelemetry(m.sink); void m.load(); res.end(await m.exposition())
 */
export class Metrics {
  readonly sink: Telemetry;
  readonly #sources: MetricsSources;
  #loaded: { registry: Registry; sink: Telemetry } | undefined;
  #loading: Promise<void> | undefined;
  #early: ((sink: Telemetry) => void)[] = [];

  constructor(sources: MetricsSources) {
    this.#sources = sources;
    const report =
      <K extends keyof Telemetry>(name: K) =>
      (...args: Parameters<Telemetry[K]>): void => {
        const loaded = this.#loaded;
        if (loaded) return (loaded.sink[name] as (...a: Parameters<Telemetry[K]>) => void)(...args);
        if (this.#early.length < MAX_EARLY_REPORTS)
          this.#early.push((sink) => (sink[name] as (...a: Parameters<Telemetry[K]>) => void)(...args));
      };
    this.sink = {
      step: report("step"),
      execution: report("execution"),
      remediation: report("remediation"),
      pool: report("pool"),
      rejection: report("rejection"),
      llm: report("llm"),
      store: report("store"),
    };
  }

  /** Loads prom-client and builds the registry (once); replays the reports made before. */
  load(): Promise<void> {
    this.#loading ??= import("prom-client").then((mod) => {
      // From the sources Node gives prom-client's exports by name; the bundle's chunk for this CommonJS
      // package exports them only as `default` (module.exports), which Node gives from the sources too.
      const prom = (mod as unknown as { default?: typeof PromClientModule }).default ?? mod;
      const loaded = build(prom, this.#sources);
      for (const replay of this.#early) replay(loaded.sink);
      this.#early = [];
      this.#loaded = loaded;
    });
    return this.#loading;
  }

  /** The text exposition format (version 0.0.4). */
  async exposition(): Promise<string> {
    await this.load();
    return this.#loaded!.registry.metrics();
  }

  get contentType(): string {
    return this.#loaded?.registry.contentType ?? CONTENT_TYPE;
  }
}

/** The registry and the sink that reports into it. */
function build(prom: PromClient, sources: MetricsSources): { registry: Registry; sink: Telemetry } {
  const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = prom;
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: "mend_process_" });
  const steps = new Counter({
    name: "mend_steps_total",
    help: "Journaled steps that ran (replays excluded), by kind and status.",
    labelNames: ["kind", "status"],
    registers,
  });
  const stepSeconds = new Histogram({
    name: "mend_step_duration_seconds",
    help: "Wall time of one step attempt, by kind.",
    labelNames: ["kind"],
    buckets: STEP_BUCKETS,
    registers,
  });
  const executions = new Counter({
    name: "mend_executions_total",
    help: "Executions (codemode, container, tool steps) by sandbox, engine and status.",
    labelNames: ["sandbox", "engine", "status"],
    registers,
  });
  const executionSeconds = new Histogram({
    name: "mend_execution_duration_seconds",
    help: "Wall time of one execution in its sandbox, by sandbox and engine.",
    labelNames: ["sandbox", "engine"],
    buckets: STEP_BUCKETS,
    registers,
  });
  const failures = new Counter({
    name: "mend_failures_total",
    help: "Failed executions by failure kind (FAILURES.md) and sandbox.",
    labelNames: ["kind", "sandbox"],
    registers,
  });
  const remediations = new Counter({
    name: "mend_remediations_total",
    help: "Automatic retries by the failure kind they remediate and their outcome (healed, failed).",
    labelNames: ["kind", "outcome"],
    registers,
  });
  const pool = new Counter({
    name: "mend_pool_requests_total",
    help: "Containers asked for, by image and result (hit: from the warm pool; miss: created on demand).",
    labelNames: ["image", "result"],
    registers,
  });
  new Gauge({
    name: "mend_pool_idle_containers",
    help: "Idle warm containers, by image.",
    labelNames: ["image"],
    registers,
    collect() {
      this.reset();
      for (const [ref, n] of Object.entries(sources.poolIdle())) this.set({ image: shortImage(ref) }, n);
    },
  });
  poolGauges(prom, sources, registers);
  new Gauge({
    name: "mend_admission_running",
    help: "Executions holding a slot, by tenant.",
    labelNames: ["tenant"],
    registers,
    collect() {
      this.reset();
      for (const [tenant, l] of Object.entries(sources.admission())) this.set({ tenant }, l.running);
    },
  });
  new Gauge({
    name: "mend_admission_queued",
    help: "Executions waiting for a slot, by tenant.",
    labelNames: ["tenant"],
    registers,
    collect() {
      this.reset();
      for (const [tenant, l] of Object.entries(sources.admission())) this.set({ tenant }, l.waiting);
    },
  });
  const rejections = new Counter({
    name: "mend_admission_rejections_total",
    help: "Requests and executions refused with 429, by tenant and reason (rate, concurrency).",
    labelNames: ["tenant", "reason"],
    registers,
  });
  const llmCalls = new Counter({
    name: "mend_llm_calls_total",
    help: "LLM calls by provider and status (ok, failed after retries).",
    labelNames: ["provider", "status"],
    registers,
  });
  const llmTokens = new Counter({
    name: "mend_llm_tokens_total",
    help: "LLM tokens by provider and direction (input, output).",
    labelNames: ["provider", "direction"],
    registers,
  });
  const llmRetries = new Counter({
    name: "mend_llm_retries_total",
    help: "Provider-level retries of LLM calls (429, 5xx, connection errors, stalls), by provider.",
    labelNames: ["provider"],
    registers,
  });
  const llmSeconds = new Histogram({
    name: "mend_llm_call_duration_seconds",
    help: "Wall time of one LLM call, retries included, by provider.",
    labelNames: ["provider"],
    buckets: STEP_BUCKETS,
    registers,
  });
  const storeSeconds = new Histogram({
    name: "mend_store_operation_duration_seconds",
    help: "Latency of store operations, by operation.",
    labelNames: ["operation"],
    buckets: STORE_BUCKETS,
    registers,
  });
  const sink: Telemetry = {
    step(r) {
      steps.inc({ kind: r.kind, status: r.status });
      stepSeconds.observe({ kind: r.kind }, r.seconds);
    },
    execution(r) {
      executions.inc({ sandbox: r.sandbox, engine: r.engine, status: r.status });
      executionSeconds.observe({ sandbox: r.sandbox, engine: r.engine }, r.seconds);
      if (r.failureKind) failures.inc({ kind: r.failureKind, sandbox: r.sandbox });
    },
    remediation(kind, outcome) {
      remediations.inc({ kind, outcome });
    },
    pool(image, hit) {
      pool.inc({ image: shortImage(image), result: hit ? "hit" : "miss" });
    },
    rejection(tenant, reason) {
      rejections.inc({ tenant, reason });
    },
    llm(r) {
      llmCalls.inc({ provider: r.provider, status: r.status });
      llmTokens.inc({ provider: r.provider, direction: "input" }, r.inputTokens);
      llmTokens.inc({ provider: r.provider, direction: "output" }, r.outputTokens);
      if (r.retries > 0) llmRetries.inc({ provider: r.provider }, r.retries);
      llmSeconds.observe({ provider: r.provider }, r.seconds);
    },
    store(operation, seconds) {
      storeSeconds.observe({ operation }, seconds);
    },
  };
  return { registry, sink };
}
