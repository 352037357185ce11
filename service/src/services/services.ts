// The composition root: builds every long-lived component from the config, and tears them down in order.
import { existsSync } from "node:fs";
import { describeSystemError, StartupError } from "../config/startup-error.ts";
import {
  MontyEngine,
  FairContainerRunner,
  QuickJsEngine,
  V8Engine,
  type CodeModeEngines,
  type ContainerRunner,
} from "@mend/sandboxes";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import type { Store } from "../store/store.ts";
import type { BlobStore } from "../store/blob-store.ts";
import { openStorage } from "./open-store.ts";
import { Inflight } from "../engine/inflight.ts";
import { Crashpoints } from "../engine/crashpoint.ts";
import { Executor } from "../engine/executor.ts";
import { Admission } from "../engine/admission.ts";
import { StepLifecycle } from "../engine/step-lifecycle.ts";
import { RunEvents } from "../engine/run-events.ts";
import { RunService } from "../engine/run-service.ts";
import { Replica } from "../engine/replica.ts";
import { HostedLoop } from "../loop/hosted-loop.ts";
import { ModelRegistry } from "../loop/model-registry.ts";
import { PolicyRegistry } from "../policy/policy-registry.ts";
import { ToolCatalog } from "../tools/tool-catalog.ts";
import { ToolCaller } from "../tools/tool-caller.ts";
import { TenantQuotas } from "../engine/tenant-quotas.ts";
import { registerToolSources } from "../tools/register-tool-sources.ts";
import type { ToolRegistry } from "../tools/tool-registry.ts";
import { installTelemetry } from "../lib/telemetry.ts";
import { installTracer } from "../lib/tracing.ts";
import { Metrics } from "./metrics.ts";
import { observedStore } from "./observed-store.ts";
import { LazyContainerRunner } from "./lazy-container-runner.ts";

/** Everything routes and the engine use; built once per process. */
export interface Services {
  config: Config;
  log: Logger;
  store: Store;
  blobs: BlobStore;
  policies: PolicyRegistry;
  containers: ContainerRunner | null;
  codemode: CodeModeEngines;
  catalog: ToolCatalog;
  /** Registration of a tenant's HTTP tools and MCP servers (the one registry of the process). */
  registry: ToolRegistry;
  tools: ToolCaller;
  events: RunEvents;
  /** The one step lifecycle (claim, replay, crash points, blobs, events) every journaled step goes through. */
  steps: StepLifecycle;
  /** The one admission point: request rate and execution concurrency per tenant. */
  admission: Admission;
  /** Quotas per tenant: the stored quotas handed to the store, open event streams, usage reports. */
  quotas: TenantQuotas;
  executor: Executor;
  runs: RunService;
  loop: HostedLoop;
  inflight: Inflight;
  /** The Prometheus registry of GET /metrics. */
  metrics: Metrics;
  /** This process as a replica of the store (identity, heartbeat, live replica count). */
  replica: Replica;
}

/** The services with what their owner calls: warm() once it serves, dispose() to stop. */
export type ServicesHandle = Services & {
  /** Starts what was deferred past listening (the QuickJS workers, prom-client); idempotent. */
  warm(): void;
  dispose(): Promise<void>;
};

export interface ServiceOptions {
  /** false: no container sandbox (container executions fail with sandbox_unavailable). */
  containers?: boolean;
}

/**
 * Opens the store, loads policies, starts the sandboxes, and returns the services with a `dispose`.
 * @example const s = await createServices(loadConfig(), log); ...; await s.dispose()
 */
export async function createServices(
  config: Config,
  log: Logger,
  opts: ServiceOptions = {},
): Promise<ServicesHandle> {
  // Tracing first: spans of start-up work (resumed runs) have a tracer. The SDK loads only when asked for.
  const otel = config.tracing ? (await import("./otel-tracer.ts")).startOtelTracer() : null;
  const uninstallTracer = otel ? installTracer(otel) : () => {};
  try {
    return await build(config, log, opts, async () => {
      uninstallTracer();
      await otel?.shutdown().catch((err: unknown) => log.warn({ err }, "flushing traces failed"));
    });
  } catch (err) {
    uninstallTracer();
    await otel?.shutdown().catch(() => undefined);
    throw err;
  }
}

async function build(
  config: Config,
  log: Logger,
  opts: ServiceOptions,
  stopTracing: () => Promise<void>,
): Promise<ServicesHandle> {
  const crash = new Crashpoints(config.crashpoint);
  if (!existsSync(config.policiesDir)) {
    throw new StartupError(
      `MEND_POLICIES_DIR=${config.policiesDir} does not exist: point MEND_POLICIES_DIR at the policies folder (the repository's policies/) or create it with a default.yaml`,
    );
  }
  let policies: PolicyRegistry;
  try {
    policies = await PolicyRegistry.load(config.policiesDir, log);
  } catch (err) {
    throw new StartupError(`MEND_POLICIES_DIR=${config.policiesDir}: ${describeSystemError(err)}`);
  }
  // First: the data dir's owner lock is taken here, before anything (the container janitor) acts as its owner.
  let store: Store;
  let blobs: BlobStore;
  try {
    ({ store, blobs } = await openStorage(config, { owner: true }));
    store = observedStore(store);
  } catch (err) {
    if (err instanceof StartupError) throw err; // e.g. the data dir is owned by another process
    throw new StartupError(
      config.databaseUrl
        ? `MEND_DATABASE_URL: the PostgreSQL store cannot be opened (${describeSystemError(err)}); check that the server answers and the role owns the database`
        : `MEND_DATA_DIR=${config.dataDir}: the store cannot be opened (${describeSystemError(err)}); the service needs a readable and writable data dir`,
    );
  }
  // Registered before anything is claimed: what this process owns is held by this heartbeat.
  const replica = new Replica(store, { ttlMs: config.replicaTtlMs, log });
  await replica.start();
  let containers: ContainerRunner | null = null;
  if (opts.containers !== false) {
    // Loaded and started once the server listens (startServer calls start()), or by the first job.
    const engines = new LazyContainerRunner(async () =>
      (await import("./engine-runner.ts")).engineRunner(config, policies),
    );
    containers = new FairContainerRunner(engines, { slots: config.containerSlots });
  }
  // The QuickJS workers boot after the server listens (warm(), from startServer) or at the first use,
  // whichever comes first: spawning them is ~30 ms of the main thread and their wasm compiles on the other
  // core, both competing with a restarted service's first answers. An execution that comes first creates
  // them itself and waits for a ready worker, as it would at any time.
  let quickjs: QuickJsEngine | undefined;
  const codemode: CodeModeEngines = {
    get quickjs() {
      return (quickjs ??= new QuickJsEngine({ workers: config.codemodeWorkers }));
    },
    v8: new V8Engine(),
    monty: new MontyEngine({ workers: config.pythonWorkers }),
  };
  const catalog = new ToolCatalog();
  const toolSources = await registerToolSources(catalog, { store, config, log, blobs });
  const tools = new ToolCaller(catalog, store, toolSources.destinations);
  tools.setCacheMaxBytes(config.cacheMaxBytes);
  // Replicas fill a cache key once between them (a fill mark); one process coalesces in memory alone.
  if (replica.shared) tools.coalesceAcrossReplicas(replica.id);
  const events = new RunEvents(store);
  const inflight = new Inflight();
  const steps = new StepLifecycle({ store, blobs, events, crash, inflight, log, replica });
  // Each replica enforces its share of a tenant's limits (limit ÷ live replicas).
  const admission = new Admission({ replicas: () => replica.live });
  const quotas = new TenantQuotas(store);
  const executor = new Executor({ store, blobs, tools, codemode, containers, steps, admission, crash, log });
  const runs = new RunService({ store, steps, executor, events, policies, tools, config });
  const models = new ModelRegistry(config);
  const loop = new HostedLoop({
    store,
    steps,
    executor,
    events,
    tools,
    policies,
    config,
    log,
    blobs,
    replica,
    modelFor: (r) => models.modelFor(r),
  });
  runs.attachHostedDriver(loop);
  const metrics = new Metrics({
    poolIdle: () => containers?.poolIdle?.() ?? {},
    poolStats: () => containers?.poolStats?.() ?? [],
    admission: () => admission.snapshot(),
  });
  const uninstallTelemetry = installTelemetry(metrics.sink);
  return {
    config,
    log,
    store,
    blobs,
    policies,
    containers,
    codemode,
    catalog,
    registry: toolSources.registry,
    tools,
    events,
    steps,
    admission,
    quotas,
    executor,
    runs,
    loop,
    inflight,
    metrics,
    replica,
    warm() {
      void codemode.quickjs;
      // prom-client: the sink kept the reports made until now (a scrape before this loads it at once).
      metrics.load().catch((err: unknown) => log.warn({ err }, "metrics: prom-client did not load"));
    },
    async dispose() {
      await loop.stop();
      await events.close();
      await replica.retire();
      await Promise.allSettled([
        quickjs?.dispose(),
        codemode.monty.dispose(),
        codemode.v8.dispose(),
        containers?.dispose(),
        toolSources.dispose(),
      ]);
      await store.close();
      uninstallTelemetry();
      await stopTracing();
    },
  };
}
