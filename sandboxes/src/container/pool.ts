// Warm pool: containers created, attached and started ahead of time, each serving exactly one job.
import { setTimeout as delay } from "node:timers/promises";
import type { ReadyContainer } from "./container-session.ts";

export interface PoolEntrySpec {
  /** Pool key (image + limits class, see limitsClass). */
  key: string;
  size: number;
  create: () => Promise<ReadyContainer>;
}

/**
 * Keeps `size` started containers per key; `take` hands one out (never twice) and replenishes in
 * the background. Creation errors back off instead of spinning; a miss returns undefined.
 * @example
 * const pool = new WarmPool([{ key, size: 2, create: () => startContainer(docker, spec) }], discard);
 * pool.start(); const ready = pool.take(key) ?? (await startContainer(docker, spec));
 */
export class WarmPool {
  readonly #specs = new Map<string, PoolEntrySpec>();
  readonly #idle = new Map<string, ReadyContainer[]>();
  readonly #filling = new Set<string>();
  readonly #discard: (c: ReadyContainer) => void;
  readonly #fills = new Set<Promise<void>>();
  #started = false;
  #disposed = false;

  constructor(specs: PoolEntrySpec[], discard: (c: ReadyContainer) => void) {
    for (const s of specs) if (s.size > 0) this.#specs.set(s.key, s);
    this.#discard = discard;
  }

  start(): void {
    if (this.#started || this.#disposed) return;
    this.#started = true;
    for (const key of this.#specs.keys()) this.#refill(key);
  }

  /** Number of idle, live containers for a key. */
  idleCount(key: string): number {
    return (this.#idle.get(key) ?? []).filter((c) => c.isAlive() && !c.used).length;
  }

  /** Idle, live containers per image (the part of the key before the limits class). */
  idleByImage(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of this.#specs.keys()) {
      const image = key.split("|")[0]!;
      out[image] = (out[image] ?? 0) + this.idleCount(key);
    }
    return out;
  }

  has(key: string): boolean {
    return this.#specs.has(key);
  }

  take(key: string): ReadyContainer | undefined {
    if (this.#disposed) return undefined;
    const list = this.#idle.get(key);
    let found: ReadyContainer | undefined;
    while (list && list.length > 0 && found === undefined) {
      const c = list.shift()!;
      if (c.isAlive() && !c.used) found = c;
      else this.#discard(c);
    }
    if (this.#specs.has(key)) this.#refill(key);
    return found;
  }

  /** Resolves once every pool is full (or failing); for tests and benchmarks. */
  async whenFull(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.#disposed) {
      const full = [...this.#specs.values()].every((s) => this.idleCount(s.key) >= s.size);
      if (full) return;
      await delay(20);
    }
  }

  /** Stops refilling and returns every idle container to `discard`. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    await Promise.allSettled([...this.#fills]);
    for (const list of this.#idle.values()) for (const c of list.splice(0)) this.#discard(c);
  }

  #refill(key: string): void {
    if (this.#filling.has(key) || this.#disposed || !this.#started) return;
    const spec = this.#specs.get(key);
    if (!spec) return;
    this.#filling.add(key);
    const p = this.#fill(spec).finally(() => {
      this.#filling.delete(key);
      this.#fills.delete(p);
    });
    this.#fills.add(p);
  }

  async #fill(spec: PoolEntrySpec): Promise<void> {
    let backoffMs = 250;
    for (;;) {
      if (this.#disposed) return;
      const list = this.#idle.get(spec.key) ?? [];
      this.#idle.set(spec.key, list);
      for (const c of list.filter((x) => !x.isAlive())) {
        list.splice(list.indexOf(c), 1);
        this.#discard(c);
      }
      if (list.length >= spec.size) return;
      try {
        const c = await spec.create();
        if (this.#disposed) {
          this.#discard(c);
          return;
        }
        list.push(c);
        // a pooled container that dies while idle (killed from outside) is replaced
        void c.ended
          .then(() => {
            if (!c.used && !this.#disposed) this.#refill(spec.key);
          })
          .catch(() => {});
        backoffMs = 250;
      } catch {
        await delay(backoffMs, undefined, { ref: false });
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    }
  }
}
