// Reloads the policy files when the process receives SIGHUP, so operators change policies without a restart.
import type { Logger } from "../log/logger.ts";
import type { PolicyRegistry } from "./policy-registry.ts";

/**
 * Re-reads the policies on every SIGHUP (an invalid set keeps the previous one; the registry logs why).
 * Returns a disposer that removes the handler. `onReloaded` is told each outcome.
 * @example const stop = watchPolicies(services.policies, log); ...; stop()
 */
export function watchPolicies(
  registry: PolicyRegistry,
  log: Logger,
  onReloaded?: (ok: boolean) => void,
): () => void {
  const onHup = () => {
    log.info({ dir: registry.dir }, "SIGHUP: reloading policies");
    void registry.reload().then((ok) => onReloaded?.(ok));
  };
  process.on("SIGHUP", onHup);
  return () => {
    process.off("SIGHUP", onHup);
  };
}
