// Holds the policies in force; a reload that fails keeps the previous set and says why.
import type { Logger } from "../log/logger.ts";
import { loadPolicies } from "./policy-loader.ts";
import type { Policy } from "./policy-schema.ts";

/**
 * The current policies by name.
 * @example const reg = await PolicyRegistry.load("./policies", log); reg.get("default")
 */
export class PolicyRegistry {
  #policies: Map<string, Policy>;
  #reloading: Promise<boolean> | null = null;
  readonly #dir: string;
  readonly #log: Logger;

  private constructor(dir: string, policies: Map<string, Policy>, log: Logger) {
    this.#dir = dir;
    this.#policies = policies;
    this.#log = log;
  }

  /** Loads at start-up; an invalid policy set is fatal here (nothing previous to keep). */
  static async load(dir: string, log: Logger): Promise<PolicyRegistry> {
    const reg = new PolicyRegistry(dir, await loadPolicies(dir), log);
    log.info({ dir, policies: reg.versions() }, "policies loaded");
    return reg;
  }

  /** The folder the policies are read from. */
  get dir(): string {
    return this.#dir;
  }

  get(name: string): Policy | undefined {
    return this.#policies.get(name);
  }

  names(): string[] {
    return [...this.#policies.keys()];
  }

  /** Name → version of every policy in force. */
  versions(): Record<string, string> {
    return Object.fromEntries([...this.#policies].map(([n, p]) => [n, p.version]));
  }

  /**
   * Re-reads the folder. Returns false (and keeps the old policies) when the new set is invalid.
   * Overlapping calls share one reload.
   */
  reload(): Promise<boolean> {
    this.#reloading ??= this.#reload().finally(() => (this.#reloading = null));
    return this.#reloading;
  }

  async #reload(): Promise<boolean> {
    try {
      const next = await loadPolicies(this.#dir);
      const changed = [...next]
        .filter(([n, p]) => this.#policies.get(n)?.version !== p.version)
        .map(([n]) => n);
      const removed = [...this.#policies.keys()].filter((n) => !next.has(n));
      this.#policies = next;
      this.#log.info({ policies: this.versions(), changed, removed }, "policies reloaded");
      return true;
    } catch (err) {
      this.#log.error(
        { err: (err as Error).message },
        "policy reload failed; previous policies stay in force",
      );
      return false;
    }
  }
}
