// Counts failed operations by message, so a benchmark reports every failure instead of hiding it.

/**
 * Failed operations of one measurement, grouped by message.
 * @example const f = new FailureTally(); f.add(new Error("HTTP 500")); f.count // 1; f.messages() // ["1× HTTP 500"]
 */
export class FailureTally {
  readonly #byMessage = new Map<string, number>();
  count = 0;

  add(err: unknown): void {
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 300);
    this.count++;
    this.#byMessage.set(message, (this.#byMessage.get(message) ?? 0) + 1);
  }

  /** Distinct messages, most frequent first, as "N× message" (at most `max`). */
  messages(max = 8): string[] {
    const all = [...this.#byMessage.entries()].sort((a, b) => b[1] - a[1]);
    const shown = all.slice(0, max).map(([m, n]) => `${n}× ${m}`);
    if (all.length > max) shown.push(`… and ${all.length - max} other messages`);
    return shown;
  }

  /** The fields of a Row describing these failures. */
  fields(): { failures: number; failureMessages: string[] } {
    return { failures: this.count, failureMessages: this.messages() };
  }
}
