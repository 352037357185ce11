// The knobs of the QuickJS scheduler: warm and burst workers, guests per worker, recycling and time limits.
import type { SlotConfig } from "./worker-slot.ts";

/**
 * Options of the scheduler (the engine fills in defaults).
 *
 * @example const scheduler = new GuestScheduler({ ...defaults, workers: 2, maxWorkers: 4, maxReruns: 3 });
 */
export interface SchedulerOptions extends SlotConfig {
  /** Workers kept warm. */
  workers: number;
  /** Most workers at once, burst workers included. */
  maxWorkers: number;
  /** Most guests living in one worker (parked ones included). */
  maxGuestsPerWorker: number;
  /** A worker whose wasm memory grew past this takes no new guests and is replaced once empty, in MiB. */
  recycleAboveMb: number;
  /** Extra time after a slice's budget before the host terminates a stuck worker, in ms. */
  killGraceMs: number;
  /** A slice running longer than this moves the other tenants' waiting guests elsewhere, in ms. */
  migrateAfterMs: number;
  /** A burst worker with no guest for this long is retired, in ms. */
  burstIdleMs: number;
  /** Times a guest may start over after losing its worker before it fails `sandbox_unavailable`. */
  maxReruns: number;
  /** Times a guest may move off a busy worker. */
  maxMigrations: number;
}
