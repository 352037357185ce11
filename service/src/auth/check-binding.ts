// Decides where the service may listen: without API keys, only on loopback (anyone who can connect is trusted).
import type { Config } from "../config/config.ts";
import type { Store } from "../store/store.ts";
import { isLoopback } from "./loopback.ts";

/** Where to listen and what to say about it at start-up. */
export interface Binding {
  host: string;
  level: "info" | "warn";
  message: string;
  activeKeys: number;
}

/**
 * The effective host: MEND_HOST when API keys exist or it is loopback; otherwise 127.0.0.1, with a warning.
 * @example const b = await checkBinding(config, services.store); log[b.level]({ host: b.host }, b.message)
 */
export async function checkBinding(
  config: Pick<Config, "host">,
  store: Pick<Store, "listApiKeys">,
): Promise<Binding> {
  const activeKeys = (await store.listApiKeys()).filter((k) => k.revokedAt === null).length;
  if (activeKeys > 0) {
    return {
      host: config.host,
      level: "info",
      message: `API keys required on every route except /healthz (${activeKeys} active)`,
      activeKeys,
    };
  }
  const anonymous =
    'every caller is the "local" tenant with the "default" policy; create a key with `mend keys create --tenant NAME`';
  if (isLoopback(config.host)) {
    return {
      host: config.host,
      level: "info",
      message: `no API keys configured: listening on loopback only (${config.host}); ${anonymous}`,
      activeKeys,
    };
  }
  return {
    host: "127.0.0.1",
    level: "warn",
    message: `no API keys configured: refusing to listen on ${config.host}, listening on 127.0.0.1 only; ${anonymous}, then restart`,
    activeKeys,
  };
}
