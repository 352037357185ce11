// Removal of a runner's containers that survives an engine outage: what could not be removed is removed when the engine answers.
import type Docker from "dockerode";
import type { Container } from "dockerode";
import { LABEL_OWNER } from "./labels.ts";

/**
 * Removes containers for one runner. A removal the engine did not answer is remembered, and
 * `reconcile()` (called when the engine answers again) removes it together with every container of
 * this owner the runner no longer uses, such as one whose create answer was lost with the connection.
 * @example
 * const reaper = new OrphanReaper(docker, ownerId);
 * reaper.remove(container); // in the background
 * await reaper.reconcile((id, name) => live.has(id) || creating.has(name));
 */
export class OrphanReaper {
  readonly #docker: Docker;
  readonly #ownerId: string;
  readonly #failed = new Set<string>();
  readonly #pending = new Set<Promise<unknown>>();

  constructor(docker: Docker, ownerId: string) {
    this.#docker = docker;
    this.#ownerId = ownerId;
  }

  /** Containers whose removal waits for the engine. */
  get backlog(): number {
    return this.#failed.size;
  }

  /**
   * Force-removes in the background; dispose() and settled() wait for these. Resolves when this removal
   * settled (true: removed; false: remembered for when the engine answers again), never rejects.
   */
  remove(container: Container): Promise<boolean> {
    const removal = this.#removeOne(container.id);
    this.#track(removal);
    return removal;
  }

  /** Resolves when every removal started so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }

  /**
   * Removes the remembered containers and every container of this owner that `inUse` does not
   * claim. Returns how many were removed; throws when the engine does not answer the listing.
   */
  async reconcile(inUse: (id: string, name: string) => boolean): Promise<number> {
    const list = await this.#docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_OWNER}=${this.#ownerId}`] },
    });
    const listed = new Set(list.map((c) => c.Id));
    for (const id of this.#failed) if (!listed.has(id)) this.#failed.delete(id);
    const orphans = list.filter((c) => {
      const name = (c.Names?.[0] ?? "").replace(/^\//, "");
      return this.#failed.has(c.Id) || !inUse(c.Id, name);
    });
    const results = await Promise.all(orphans.map((c) => this.#removeOne(c.Id)));
    return results.filter(Boolean).length;
  }

  async #removeOne(id: string): Promise<boolean> {
    try {
      await this.#docker.getContainer(id).remove({ force: true });
      this.#failed.delete(id);
      return true;
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      // 404: already gone; 409: removal already in progress (the engine finishes it)
      if (status === 404 || status === 409) this.#failed.delete(id);
      else this.#failed.add(id);
      return false;
    }
  }

  #track(p: Promise<unknown>): void {
    const q = p.catch(() => undefined).finally(() => this.#pending.delete(q));
    this.#pending.add(q);
  }
}
