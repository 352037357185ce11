// Starts the HTTP server on the configured address and shuts it down gracefully on request.
import type { Config } from "./config/config.ts";
import type { Logger } from "./log/logger.ts";
import { createApp } from "./edge/app.ts";
import { listen } from "./edge/listen.ts";
import { describeSystemError, StartupError } from "./config/startup-error.ts";
import { createServices, type Services } from "./services/services.ts";
import { VERSION } from "./version.ts";
import { checkBinding } from "./auth/check-binding.ts";
import { isLoopback } from "./auth/loopback.ts";
import { watchPolicies } from "./policy/watch-policies.ts";
import { keepCompileCache } from "./lib/compile-cache.ts";

/** How long after listening the container engines start (unless a request needs them sooner), ms. */
const BACKGROUND_START_MS = 250;

export interface RunningServer {
  url: string;
  services: Services;
  /** Stops accepting, lets in-flight executions finish up to the grace deadline, marks the rest interrupted. */
  close(): Promise<void>;
}

/**
 * Builds the services and listens. Resolves once the socket accepts connections.
 * @example const srv = await startServer(loadConfig(), log); await srv.close()
 */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  // performance.now() counts from the process's start: up to here is Node's start and loading the modules.
  const t0 = performance.now();
  const services = await createServices(config, log);
  const t1 = performance.now();
  let draining = false;
  const app = createApp(services, { draining: () => draining });
  const binding = await checkBinding(config, services.store);
  log[binding.level]({ host: binding.host, activeKeys: binding.activeKeys }, binding.message);
  const stopWatchingPolicies = watchPolicies(services.policies, log);
  let listening: Awaited<ReturnType<typeof listen>>;
  try {
    listening = await listen(app, config.port, binding.host);
  } catch (err) {
    stopWatchingPolicies();
    await services.dispose();
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === "EADDRINUSE"
        ? "is already in use; stop what listens there or choose another MEND_PORT"
        : e.code === "EACCES"
          ? "cannot be bound by this user (ports below 1024 need privileges)"
          : `cannot be listened on (${describeSystemError(err)})`;
    throw new StartupError(`MEND_PORT=${config.port}: ${binding.host}:${config.port} ${why}`);
  }
  const { server, url } = listening;
  const t2 = performance.now();
  const cpu = process.cpuUsage();
  const mainCpu = process.threadCpuUsage();
  // The phases of start-up, for the benchmark and for operators wondering why a restart took long; `cpu`
  // is the CPU the process used until now (all threads: the QuickJS workers boot meanwhile), `mainCpu`
  // the main thread's alone. A loaded machine inflates them less than the wall-clock phases.
  const startupMs = {
    modules: Math.round(t0),
    services: Math.round(t1 - t0),
    listen: Math.round(t2 - t1),
    total: Math.round(t2),
    cpu: Math.round((cpu.user + cpu.system) / 1000),
    mainCpu: Math.round((mainCpu.user + mainCpu.system) / 1000),
  };
  log.info(
    { url, version: VERSION, dataDir: config.dataDir, store: services.store.kind, startupMs },
    "mend listening",
  );
  if (!isLoopback(binding.host)) log.warn({ host: binding.host }, "listening beyond loopback");
  // What listening does not need starts a moment later: the HTTP adapter (edge/listen.ts), the QuickJS
  // workers, the container engines (dockerode's ~100 ms of module loading, the ping, the sweep of a dead
  // process's containers, the warm pools). A client retrying after a restart is answered first; a request,
  // a code-mode execution, a container job or an engine query that comes earlier loads or starts what it
  // needs at once (the adapter, LazyContainerRunner).
  const startContainers = setTimeout(() => {
    services.warm();
    // Once the adapter loaded: its module is kept with the rest of what serving needs.
    void listening.warm().then(() => keepCompileCache("serving"));
    void (services.containers?.start() ?? Promise.resolve())
      .catch((err: unknown) =>
        log.warn(
          { err: (err as Error).message },
          "container sandbox unavailable; container executions will fail with sandbox_unavailable",
        ),
      )
      .finally(() => keepCompileCache("containers")); // the container engines' modules
  }, BACKGROUND_START_MS);
  const resumed = await services.loop.resumeAll();
  if (resumed > 0) log.info({ runs: resumed }, "resumed hosted runs");
  let closing: Promise<void> | null = null;
  return {
    url,
    services,
    close() {
      closing ??= (async () => {
        clearTimeout(startContainers);
        stopWatchingPolicies();
        // From now on every request but the answers in-flight work waits for gets 503 + Connection: close.
        draining = true;
        log.info({ graceMs: config.shutdownGraceMs, inflight: services.inflight.size }, "shutting down");
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Hosted drivers stop between steps; their runs stay `running` and resume at the next start.
        const loopStopped = services.loop.stop(config.shutdownGraceMs);
        server.closeIdleConnections();
        const drained = await services.inflight.drain(config.shutdownGraceMs);
        if (!drained) {
          const n = await services.store.interruptStartedSteps(services.replica.id);
          log.warn({ interrupted: n }, "grace deadline passed; in-flight steps marked interrupted");
        }
        await loopStopped;
        // Responses of finished executions are still being written: give them a moment before cutting.
        await Promise.race([stopped, new Promise((r) => setTimeout(r, drained ? 2_000 : 200).unref())]);
        server.closeAllConnections();
        await stopped;
        await services.dispose();
        log.info("stopped");
      })();
      return closing;
    },
  };
}
