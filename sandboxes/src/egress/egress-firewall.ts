// Host firewall rules of a job network: the container reaches the proxy port on the host and nothing else.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Bridge interfaces Mend creates are named with this prefix (≤ 15 chars in all). */
export const BRIDGE_PREFIX = "mendeg";

/** The iptables chain that holds one bridge's INPUT rules. */
export function chainName(bridge: string): string {
  return `MEND-EG-${bridge.slice(BRIDGE_PREFIX.length)}`;
}

async function iptables(family: 4 | 6, args: string[]): Promise<void> {
  await run(family === 4 ? "iptables" : "ip6tables", ["-w", "5", ...args], { timeout: 15_000 });
}

async function tryIptables(family: 4 | 6, args: string[]): Promise<boolean> {
  try {
    await iptables(family, args);
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs the rules for `bridge`: INPUT from it only to `gateway:port` (the proxy), no forwarding in
 * or out of it, and no IPv6 at all. Throws when iptables is missing or refuses (no root): the caller
 * must then not start the container.
 * @example await installFirewall("mendeg1a2b3c4d", "172.18.0.1", 40123);
 */
export async function installFirewall(bridge: string, gateway: string, port: number): Promise<void> {
  const chain = chainName(bridge);
  try {
    await iptables(4, ["-N", chain]);
    await iptables(4, ["-A", chain, "-p", "tcp", "-d", gateway, "--dport", String(port), "-j", "ACCEPT"]);
    // refused at once (not dropped), so code that tries fails fast instead of waiting out a timeout
    await iptables(4, ["-A", chain, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"]);
    await iptables(4, ["-A", chain, "-j", "REJECT"]);
    await iptables(4, ["-I", "INPUT", "1", "-i", bridge, "-j", chain]);
    await iptables(4, ["-I", "FORWARD", "1", "-i", bridge, "-j", "DROP"]);
    await iptables(4, ["-I", "FORWARD", "1", "-o", bridge, "-j", "DROP"]);
    // IPv6 is off in the container too (sysctl); these hold even if it were not
    await iptables(6, ["-I", "INPUT", "1", "-i", bridge, "-j", "DROP"]);
    await iptables(6, ["-I", "FORWARD", "1", "-i", bridge, "-j", "DROP"]);
  } catch (err) {
    await removeFirewall(bridge);
    throw err;
  }
}

/** Removes every rule installFirewall added for `bridge` (each one if present). Idempotent. */
export async function removeFirewall(bridge: string): Promise<void> {
  const chain = chainName(bridge);
  // a rule may be there more than once only if an earlier removal was cut short: loop until gone
  for (const rule of [
    ["INPUT", "-i", bridge, "-j", chain],
    ["FORWARD", "-i", bridge, "-j", "DROP"],
    ["FORWARD", "-o", bridge, "-j", "DROP"],
  ]) {
    for (let i = 0; i < 8 && (await tryIptables(4, ["-D", ...rule])); i++);
  }
  await tryIptables(4, ["-F", chain]);
  await tryIptables(4, ["-X", chain]);
  for (const rule of [
    ["INPUT", "-i", bridge, "-j", "DROP"],
    ["FORWARD", "-i", bridge, "-j", "DROP"],
  ]) {
    for (let i = 0; i < 8 && (await tryIptables(6, ["-D", ...rule])); i++);
  }
}

/** Bridge names that have Mend rules installed (for the janitor). */
export async function firewalledBridges(): Promise<string[]> {
  const names = new Set<string>();
  for (const family of [4, 6] as const) {
    try {
      const { stdout } = await run(family === 4 ? "iptables" : "ip6tables", ["-w", "5", "-S"], {
        timeout: 15_000,
      });
      for (const m of stdout.matchAll(new RegExp(`-[io] (${BRIDGE_PREFIX}[0-9a-f]+)`, "g")))
        names.add(m[1] ?? "");
      for (const m of stdout.matchAll(/-N MEND-EG-([0-9a-f]+)/g)) names.add(`${BRIDGE_PREFIX}${m[1] ?? ""}`);
    } catch {
      // no iptables: nothing of ours can be installed either
    }
  }
  names.delete("");
  return [...names];
}
