// The connection pool every model provider's HTTP calls share: keep-alive, and bounded per origin, so ten
// thousand runs waiting on one model server hold a bounded number of sockets (the rest queue in the pool).
// undici is loaded at the first model call, not at start: its ~110 CommonJS files are ~80 ms of a start
// (a restarted service answers its first replayed step sooner; a service that never calls a model never pays).
import type * as UndiciModule from "undici";
import type { Agent } from "undici";

/**
 * Sockets per origin. At a model's ~200 ms per answer 1,024 connections carry ~5,000 calls/s, more than one
 * process drives. Calls beyond it wait for a slot (`providerSlot`), in arrival order and outside their stall
 * timeout: a model that streams long answers to a thousand runs is not a stall of the thousand-and-first.
 */
export const PROVIDER_CONNECTIONS = 1024;
/** Idle sockets are kept this long for the run's next turn (a turn's code-mode step is short). */
const KEEP_ALIVE_MS = 30_000;

/** The pool and undici's `request` that uses it. */
export interface ProviderPool {
  agent: Agent;
  request: (typeof UndiciModule)["request"];
}

let shared: Promise<ProviderPool> | undefined;

/**
 * The process's pool of provider connections (undici loaded and the pool created on first use).
 * @example const { agent, request } = await providerPool(); await request(url, { dispatcher: agent, body })
 */
export function providerPool(): Promise<ProviderPool> {
  shared ??= import("undici").then(({ Agent, request }) => ({
    agent: new Agent({
      connections: PROVIDER_CONNECTIONS,
      keepAliveTimeout: KEEP_ALIVE_MS,
      keepAliveMaxTimeout: 10 * KEEP_ALIVE_MS,
    }),
    request,
  }));
  return shared;
}

/**
 * First-come-first-served slots, at most `limit` held at once: a call holds one while it uses a socket.
 * @example const slots = new ProviderSlots(2); const release = await slots.acquire("http://m", signal); release()
 */
export class ProviderSlots {
  readonly #limit: number;
  readonly #origins = new Map<string, { active: number; waiting: (() => void)[] }>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Resolves with the slot's release (idempotent) once one is free; rejects if `signal` aborts first. */
  async acquire(origin: string, signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    let o = this.#origins.get(origin);
    if (o === undefined) this.#origins.set(origin, (o = { active: 0, waiting: [] }));
    const slot = o;
    if (slot.active < this.#limit) slot.active++;
    else
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = slot.waiting.indexOf(go);
          if (i >= 0) slot.waiting.splice(i, 1);
          reject(signal.reason as Error);
        };
        slot.waiting.push(go);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // the slot passes to the next waiter as it is (active unchanged), or is freed
      const next = slot.waiting.shift();
      if (next !== undefined) next();
      else if (--slot.active === 0) this.#origins.delete(origin);
    };
  }

  /** Calls holding or waiting for a slot of `origin` (for tests and gauges). */
  state(origin: string): { active: number; waiting: number } {
    const o = this.#origins.get(origin);
    return { active: o?.active ?? 0, waiting: o?.waiting.length ?? 0 };
  }
}

let sharedSlots: ProviderSlots | undefined;

/**
 * The process's slots in front of `providerPool()`, as many per origin as the pool has sockets.
 * @example const release = await providerSlot(url, signal); try { await request(url, …) } finally { release() }
 */
export function providerSlot(url: string, signal: AbortSignal): Promise<() => void> {
  sharedSlots ??= new ProviderSlots(PROVIDER_CONNECTIONS);
  return sharedSlots.acquire(new URL(url).origin, signal);
}
