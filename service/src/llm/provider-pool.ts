// The connection pool every model provider's HTTP calls share: keep-alive, and bounded per origin, so ten
// thousand runs waiting on one model server hold a bounded number of sockets (the rest queue in the pool).
import { Agent } from "undici";

/**
 * Sockets per origin. At a model's ~200 ms per answer 1,024 connections carry ~5,000 calls/s, more than one
 * process drives; a call queued for a socket is still under its stall timeout, so the bound stays well above
 * what the service can keep busy.
 */
export const PROVIDER_CONNECTIONS = 1024;
/** Idle sockets are kept this long for the run's next turn (a turn's code-mode step is short). */
const KEEP_ALIVE_MS = 30_000;

let shared: Agent | undefined;

/**
 * The process's pool of provider connections (created on first use).
 * @example await request(url, { dispatcher: providerPool(), method: "POST", body })
 */
export function providerPool(): Agent {
  shared ??= new Agent({
    connections: PROVIDER_CONNECTIONS,
    keepAliveTimeout: KEEP_ALIVE_MS,
    keepAliveMaxTimeout: 10 * KEEP_ALIVE_MS,
  });
  return shared;
}
