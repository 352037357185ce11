// The container runner over the configured Docker engines (dockerode and its module tree): loaded by a
// dynamic import once the service listens (LazyContainerRunner), so start-up does not load it.
import type { ContainerRunner } from "@mend/sandboxes";
import { MultiEngineRunner } from "@mend/sandboxes/docker";
import type { Config } from "../config/config.ts";
import type { PolicyRegistry } from "../policy/policy-registry.ts";

/**
 * One runner per engine (its own pool and janitor); placement, failover and outage adoption above them.
 * @example const runner = engineRunner(config, policies); await runner.start()
 */
export function engineRunner(config: Config, policies: PolicyRegistry): ContainerRunner {
  // Pool containers are created with the default policy's limits: the common request is a pool hit.
  const defaults = policies.get("default")?.container.defaults;
  return new MultiEngineRunner({
    engines: config.dockerHosts,
    ...(config.dockerCertPath === undefined ? {} : { certPath: config.dockerCertPath }),
    ...(config.engineOutageMs === undefined ? {} : { outageMs: config.engineOutageMs }),
    pool: { python: config.poolSize },
    runscPool: { python: config.runscPoolSize },
    poolMax: config.poolGrowth.max,
    poolIdleMs: config.poolGrowth.idleMs,
    poolMemoryMb: config.poolGrowth.memoryMb,
    ...(defaults ? { poolLimits: { ...defaults, network: "none" as const } } : {}),
  });
}
