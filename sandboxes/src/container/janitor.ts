// Removes Mend containers whose owning runner process is gone (crash leftovers), never live ones.
import type Docker from "dockerode";
import { hostname } from "node:os";
import { LABEL_MEND, LABEL_OWNER, LABEL_OWNER_HOST, LABEL_OWNER_PID } from "./labels.ts";

/** True if a process with this pid exists on this machine. */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Force-removes containers labelled mend=1 whose owner is not `ownerId` and whose owner process
 * (same host, pid label) is dead. Containers of live runners in other processes are left alone.
 * @example const removed = await sweepOrphans(docker, runnerId);
 */
export async function sweepOrphans(docker: Docker, ownerId: string): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_MEND}=1`] } });
  const me = hostname();
  const orphans = list.filter((c) => {
    const labels = c.Labels ?? {};
    if (labels[LABEL_OWNER] === ownerId) return false;
    const host = labels[LABEL_OWNER_HOST];
    const pid = Number(labels[LABEL_OWNER_PID]);
    if (host !== undefined && host !== me) return false; // another machine's runner: not ours to judge
    return !isPidAlive(pid);
  });
  await Promise.allSettled(orphans.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  return orphans.map((c) => c.Id);
}

/**
 * Force-removes every container labelled with this owner id.
 * @example await removeOwned(docker, runnerId);
 */
export async function removeOwned(docker: Docker, ownerId: string): Promise<number> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_OWNER}=${ownerId}`] } });
  await Promise.allSettled(list.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  return list.length;
}
