// How far V8 lets the main heap grow past what the last full GC kept, set once at start-up (MEND_HEAP_GROWTH_PERCENT).
// Why: under ten thousand concurrent hosted runs every turn's objects live one turn cycle (seconds, behind
// the other runs), so they are promoted and die old; V8's own factor (up to 4× the live set on a machine with
// memory to spare) then kept ~870 MiB of heap for ~230 MiB live. A fixed factor trades some GC time for it.
import { setFlagsFromString } from "node:v8";

/**
 * Sets V8's heap growing factor to 1 + percent/100 for the rest of the process (0 leaves V8's own). V8 reads
 * the flag at each full GC, so setting it once the isolate runs takes effect from the next one.
 * @example limitHeapGrowth(config.heapGrowthPercent)
 */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}
