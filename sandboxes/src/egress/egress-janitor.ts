// Removes egress networks and firewall rules left by dead Mend processes (and by this runner at dispose).
import type Docker from "dockerode";
import { hostname } from "node:os";
import { isPidAlive } from "../container/janitor.ts";
import { LABEL_OWNER, LABEL_OWNER_HOST, LABEL_OWNER_PID } from "../container/labels.ts";
import { firewalledBridges, removeFirewall } from "./egress-firewall.ts";
import { LABEL_EGRESS, removeJobNetwork } from "./egress-network.ts";

interface NetInfo {
  Id: string;
  Labels?: Record<string, string>;
  Options?: Record<string, string>;
}

const BRIDGE_OPT = "com.docker.network.bridge.name";

async function egressNetworks(docker: Docker): Promise<NetInfo[]> {
  const list: NetInfo[] = await docker.listNetworks({ filters: { label: [`${LABEL_EGRESS}=1`] } });
  return list;
}

/**
 * Removes egress networks whose owner process (this host) is dead, or owned by `removeOwner`, and
 * every Mend firewall rule whose bridge no longer belongs to a live network.
 * @example await sweepEgress(docker, runner.ownerId);
 */
export async function sweepEgress(docker: Docker, keepOwner: string, removeOwner?: string): Promise<number> {
  const me = hostname();
  const nets = await egressNetworks(docker);
  const doomed = nets.filter((n) => {
    const l = n.Labels ?? {};
    if (removeOwner !== undefined) return l[LABEL_OWNER] === removeOwner;
    if (l[LABEL_OWNER] === keepOwner) return false;
    if (l[LABEL_OWNER_HOST] !== undefined && l[LABEL_OWNER_HOST] !== me) return false;
    return !isPidAlive(Number(l[LABEL_OWNER_PID]));
  });
  await Promise.allSettled(doomed.map((n) => removeJobNetwork(docker, n.Id)));
  // Rules first, networks second: a job's network exists before its rules, so a job that another
  // runner is setting up right now is in the second list whenever its rules are in the first.
  const ruled = await firewalledBridges();
  const live = new Set(
    (await egressNetworks(docker)).map((n) => n.Options?.[BRIDGE_OPT]).filter((b) => b !== undefined),
  );
  for (const bridge of ruled) if (!live.has(bridge)) await removeFirewall(bridge);
  return doomed.length;
}
