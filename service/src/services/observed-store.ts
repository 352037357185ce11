// The store with every operation's latency reported to telemetry (mend_store_operation_duration_seconds).
import type { Store } from "../store/store.ts";
import { telemetry } from "../lib/telemetry.ts";

/** Methods not worth a histogram (counters for benchmarks, the close at shutdown). */
const UNTIMED = new Set(["counters", "close", "constructor"]);

/**
 * A proxy over `store` that times each method call (sync or async) by its name; everything else passes.
 * @example const store = observedStore(await PostgresStore.open(url))
 */
export function observedStore<S extends Store>(store: S): S {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      // The target is the receiver: the backends' getters and methods use private fields.
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      let fn = wrapped.get(prop);
      if (!fn) {
        const method = value as (...args: unknown[]) => unknown;
        fn =
          typeof prop !== "string" || UNTIMED.has(prop)
            ? method.bind(target)
            : (...args: unknown[]) => {
                const t0 = performance.now();
                const done = () => telemetry().store(prop, (performance.now() - t0) / 1000);
                const out = method.apply(target, args);
                if (out instanceof Promise) return out.finally(done);
                done();
                return out;
              };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}
