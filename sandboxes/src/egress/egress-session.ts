// One allowlist job's egress: its network, its proxy, its firewall rules; opened before the container, closed after.
import type Docker from "dockerode";
import { allowlistCheck, type EgressCheck } from "./egress-check.ts";
import { installFirewall, removeFirewall } from "./egress-firewall.ts";
import { createJobNetwork, removeJobNetwork, type JobNetwork } from "./egress-network.ts";
import { EgressProxy, type EgressJournal } from "./egress-proxy.ts";

const runtimes = new WeakMap<Docker, Promise<string>>();

/** The engine's default OCI runtime (asked once per client). */
function defaultRuntime(docker: Docker): Promise<string> {
  let r = runtimes.get(docker);
  if (r === undefined) {
    r = (docker.info() as Promise<{ DefaultRuntime?: string }>).then(
      (i) => i.DefaultRuntime ?? "runc",
      () => "runc",
    );
    runtimes.set(docker, r);
  }
  return r;
}

/** Builds the check for one job's allowlist; default `allowlistCheck(hosts)`. */
export type EgressCheckFactory = (hosts: readonly string[]) => EgressCheck;

/** What the container spec needs: the network to join and the proxy variables. */
export interface EgressAttachment {
  network: string;
  env: Record<string, string>;
}

export interface EgressSession {
  attachment: EgressAttachment;
  /** Stops the proxy (cutting open tunnels) and returns what it journaled. */
  close(): Promise<EgressJournal>;
  /** Removes the firewall rules and the network; call once the container is gone. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * Opens the egress of one job: network, proxy on its gateway, firewall, in that order (the container
 * starts after, so its first packet already meets the rules). Throws if any part fails, undoing the rest.
 * @example
 * const s = await openEgress(docker, labels, ["127.0.0.1:8080"]);
 * // create the container with s.attachment, run it, remove it
 * const journal = await s.close(); await s.dispose();
 */
export async function openEgress(
  docker: Docker,
  labels: Record<string, string>,
  hosts: readonly string[],
  makeCheck: EgressCheckFactory = (h) => allowlistCheck(h),
  runtime?: string,
): Promise<EgressSession> {
  // gVisor cannot join the egress network on this engine (its netstack needs --network=none here)
  const effective = runtime ?? (await defaultRuntime(docker));
  if (effective === "runsc")
    throw new Error("allowlist networking is not available under the runsc (gVisor) runtime");
  const check = makeCheck(hosts);
  const net: JobNetwork = await createJobNetwork(docker, labels);
  let proxy: EgressProxy | undefined;
  let disposed: Promise<void> | undefined;
  const dispose = (): Promise<void> =>
    (disposed ??= (async () => {
      await proxy?.close();
      await removeFirewall(net.bridge);
      await removeJobNetwork(docker, net.id);
    })());
  try {
    proxy = await EgressProxy.listen({
      listenHost: net.gateway,
      check,
      allowSource: (a) => a !== net.gateway,
    });
    await installFirewall(net.bridge, net.gateway, proxy.port);
  } catch (err) {
    await dispose();
    throw err;
  }
  const url = `http://${net.gateway}:${proxy.port}`;
  const p = proxy;
  return {
    attachment: {
      network: net.name,
      env: {
        HTTP_PROXY: url,
        HTTPS_PROXY: url,
        http_proxy: url,
        https_proxy: url,
        NO_PROXY: "",
        no_proxy: "",
      },
    },
    close: () => p.close(),
    dispose,
  };
}
