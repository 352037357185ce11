// The internal Docker network of one allowlist job: labelled, internal, its own bridge, no ICC.
import type Docker from "dockerode";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { BRIDGE_PREFIX } from "./egress-firewall.ts";

/** Label on every network Mend creates for egress (beside the owner labels). */
export const LABEL_EGRESS = "mend.egress";

export interface JobNetwork {
  id: string;
  name: string;
  /** Host-side bridge interface, `mendeg` + 9 hex (Linux allows 15 characters). */
  bridge: string;
  /** The host's address on the bridge: where the proxy listens. */
  gateway: string;
}

/**
 * Creates an internal bridge network (Docker drops what it would forward; no masquerade, no ICC)
 * and checks that its bridge is on this host: the firewall and the proxy must live where the bridge is.
 * @example const net = await createJobNetwork(docker, { mend: "1", "mend.owner": "r_1" });
 */
export async function createJobNetwork(docker: Docker, labels: Record<string, string>): Promise<JobNetwork> {
  const suffix = randomBytes(5).toString("hex").slice(0, 9);
  const bridge = `${BRIDGE_PREFIX}${suffix}`;
  const name = `mend-egress-${suffix}`;
  const created = await docker.createNetwork({
    Name: name,
    Driver: "bridge",
    Internal: true,
    CheckDuplicate: true,
    EnableIPv6: false,
    Labels: { ...labels, [LABEL_EGRESS]: "1" },
    Options: {
      "com.docker.network.bridge.name": bridge,
      "com.docker.network.bridge.enable_icc": "false",
      "com.docker.network.bridge.enable_ip_masquerade": "false",
    },
  });
  try {
    const info = (await created.inspect()) as { IPAM?: { Config?: { Gateway?: string }[] } };
    const gateway = info.IPAM?.Config?.[0]?.Gateway;
    if (gateway === undefined) throw new Error(`network ${name} has no gateway address`);
    if (!existsSync(`/sys/class/net/${bridge}`)) {
      throw new Error("allowlist networking needs the Docker engine on Mend's host (its bridge is not here)");
    }
    return { id: created.id, name, bridge, gateway: gateway.replace(/\/\d+$/, "") };
  } catch (err) {
    await created.remove().catch(() => undefined);
    throw err;
  }
}

/** Removes a job network; retries while a just-removed container is still detaching. */
export async function removeJobNetwork(docker: Docker, id: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    try {
      await docker.getNetwork(id).remove();
      return;
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code === 404) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
