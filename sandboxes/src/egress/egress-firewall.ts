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

const UNREACHABLE = ["-j", "REJECT", "--reject-with", "icmp-net-unreachable"];

async function iptables(family: 4 | 6, args: string[]): Promise<void> {
  await run(family === 4 ? "iptables" : "ip6tables", ["-w", "30", ...args], { timeout: 60_000 });
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
    // Refused at once with "network unreachable" (not dropped): code that connects directly fails fast
    // with ENETUNREACH, which the launcher reports as network_denied, as under network none.
    await iptables(4, ["-A", chain, ...UNREACHABLE]);
    await iptables(4, ["-I", "INPUT", "1", "-i", bridge, "-j", chain]);
    // Docker gives internal networks a default route via the gateway: nothing may be forwarded from it
    await iptables(4, ["-I", "FORWARD", "1", "-i", bridge, ...UNREACHABLE]);
    await iptables(4, ["-I", "FORWARD", "1", "-o", bridge, "-j", "DROP"]);
    // IPv6 is off in the container too (sysctl); these hold even if it were not
    await iptables(6, ["-I", "INPUT", "1", "-i", bridge, "-j", "DROP"]);
    await iptables(6, ["-I", "FORWARD", "1", "-i", bridge, "-j", "DROP"]);
  } catch (err) {
    await removeFirewall(bridge);
    throw err;
  }
}

/** True for the rules installFirewall writes (in `iptables -S` form), never for Docker's own. */
export function isOurRule(line: string, bridge: string): boolean {
  const chain = chainName(bridge);
  return (
    line === `-A INPUT -i ${bridge} -j ${chain}` ||
    line === `-A INPUT -i ${bridge} -j DROP` ||
    line === `-A FORWARD -i ${bridge} -j DROP` ||
    line === `-A FORWARD -i ${bridge} ${UNREACHABLE.join(" ")}` ||
    line === `-A FORWARD -o ${bridge} -j DROP`
  );
}

/**
 * Removes every rule installFirewall added for `bridge`, as listed by `iptables -S` (so a rule left
 * twice by an interrupted run goes too), then its chain; re-lists until none is left. Idempotent.
 */
export async function removeFirewall(bridge: string): Promise<void> {
  const chain = chainName(bridge);
  for (let round = 0; round < 3; round++) {
    let left = 0;
    for (const family of [4, 6] as const) {
      const rules = (await list(family)).filter((l) => isOurRule(l, bridge));
      left += rules.length;
      for (const r of rules) await tryIptables(family, ["-D", ...r.split(" ").slice(1)]);
    }
    await tryIptables(4, ["-F", chain]);
    await tryIptables(4, ["-X", chain]);
    if (left === 0 && !(await list(4)).includes(`-N ${chain}`)) return;
  }
}

async function list(family: 4 | 6): Promise<string[]> {
  try {
    const { stdout } = await run(family === 4 ? "iptables" : "ip6tables", ["-w", "30", "-S"], {
      timeout: 60_000,
    });
    return stdout.split("\n");
  } catch {
    return [];
  }
}

/** Bridge names that have Mend rules installed (for the janitor). */
export async function firewalledBridges(): Promise<string[]> {
  const names = new Set<string>();
  for (const family of [4, 6] as const) {
    for (const line of await list(family)) {
      const m = new RegExp(`^-A (?:INPUT|FORWARD) -[io] (${BRIDGE_PREFIX}[0-9a-f]+) -j `).exec(line);
      if (m?.[1] !== undefined && isOurRule(line, m[1])) names.add(m[1]);
      const n = /^-N MEND-EG-([0-9a-f]+)$/.exec(line);
      if (n?.[1] !== undefined) names.add(`${BRIDGE_PREFIX}${n[1]}`);
    }
  }
  return [...names];
}
