// MEND_CRASHPOINT: kills the process at a chosen point so users (and our chaos tests) can prove resumption.

export const CRASH_POINTS = [
  "after-step-start",
  "after-tool-call",
  "before-step-end",
  "after-step-end",
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/**
 * Counts hits of each point; on the n-th hit of the configured one the process dies with SIGKILL,
 * as abruptly as a preempted machine (no shutdown hooks, no flush).
 * @example const crash = new Crashpoints("after-step-start:3"); crash.hit("after-step-start")
 */
export class Crashpoints {
  readonly #point: string | null;
  readonly #at: number;
  #count = 0;

  constructor(spec: string | undefined) {
    const [point, n] = spec?.split(":") ?? [];
    if (spec && !CRASH_POINTS.includes(point as CrashPoint)) {
      throw new Error(
        `MEND_CRASHPOINT: unknown point "${point}"; expected one of ${CRASH_POINTS.join(", ")}`,
      );
    }
    this.#point = point ?? null;
    this.#at = Number(n ?? 0);
  }

  hit(point: CrashPoint): void {
    if (point !== this.#point) return;
    this.#count++;
    if (this.#count >= this.#at) {
      process.stderr.write(`mend: MEND_CRASHPOINT ${point}:${this.#at} reached; killing the process\n`);
      process.kill(process.pid, "SIGKILL");
    }
  }
}
