// What the Store conformance suites share: the factory an implementation registers, fixtures and helpers.
import type { TestApi } from "@mend/sandboxes/testing";
import type { NewRun, Store } from "../store.ts";
import type { RunRecord } from "../records.ts";

/** One fresh, empty store and the means to open a second handle on the same data (another connection). */
export interface StoreHandle {
  store: Store;
  /** Another Store instance on the same database (for concurrency across connections); closed by the suite. */
  open: () => Promise<Store>;
  /** Removes the data (the suite has closed every store first). */
  destroy: () => Promise<void>;
}

/** Makes a fresh, empty store for one test. */
export type StoreFactory = () => Promise<StoreHandle>;

/** What every part of the suite receives. */
export interface SuiteContext {
  t: TestApi;
  /** `it` with a fresh store, closed and destroyed after the test whatever its outcome. */
  test: (name: string, fn: (s: Store, h: StoreHandle) => Promise<void>) => void;
}

/** Builds the context: each test gets its own store (no shared state between tests). */
export function suiteContext(t: TestApi, factory: StoreFactory): SuiteContext {
  return {
    t,
    test(name, fn) {
      t.it(name, async () => {
        const h = await factory();
        const others: Store[] = [];
        const handle: StoreHandle = {
          store: h.store,
          open: async () => {
            const s = await h.open();
            others.push(s);
            return s;
          },
          destroy: h.destroy,
        };
        try {
          await fn(h.store, handle);
        } finally {
          for (const s of others) await s.close();
          await h.store.close();
          await h.destroy();
        }
      });
    },
  };
}

/**
 * Creates a client run of tenant t1 (or as `extra` says).
 * @example const run = await newRun(store, "run_a", { tenant: "t2" })
 */
export async function newRun(store: Store, id: string, extra: Partial<NewRun> = {}): Promise<RunRecord> {
  const { run } = await store.createRun({
    id,
    tenant: "t1",
    mode: "client",
    goal: null,
    implicit: false,
    ...extra,
  });
  return run;
}

/** Waits until the wall clock is past `ms` (expiry without a timing threshold: the clock only moves on). */
export async function untilPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((r) => setTimeout(r, 1));
}

/** The rejection of a promise (fails when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection, the call resolved");
}
