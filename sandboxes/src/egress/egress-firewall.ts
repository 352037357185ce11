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

const UNREACHABLE = "-j REJECT --reject-with icmp-net-unreachable";
const TIMEOUT_MS = 60_000;

/** Applies commands in one `iptables-restore --noflush` transaction: all of them or none. */
async function restore(family: 4 | 6, commands: string[]): Promise<void> {
  const tool = family === 4 ? "iptables-restore" : "ip6tables-restore";
  await new Promise<void>((resolve, reject) => {
    const child = execFile(tool, ["-w", "30", "--noflush"], { timeout: TIMEOUT_MS }, (err, _out, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`${tool} failed: ${String(stderr).trim() || err.message}`));
    });
    child.stdin?.end(`*filter\n${commands.join("\n")}\nCOMMIT\n`);
  });
}

/**
 * Installs the rules for `bridge`, one transaction per address family: INPUT from it only to
 * `gateway:port` (the proxy), nothing forwarded in or out of it, no IPv6 at all. Throws when iptables
 * is missing or refuses (no root): the caller must then not start the container.
 * @example await installFirewall("mendeg1a2b3c4d", "172.18.0.1", 40123);
 */
export async function installFirewall(bridge: string, gateway: string, port: number): Promise<void> {
  const chain = chainName(bridge);
  try {
    await restore(4, [
      `:${chain} - [0:0]`,
      `-A ${chain} -p tcp -d ${gateway} --dport ${port} -j ACCEPT`,
      // Refused at once with "network unreachable" (not dropped): code that connects directly fails fast
      // with ENETUNREACH, which the launcher reports as network_denied, as under network none.
      `-A ${chain} ${UNREACHABLE}`,
      `-I INPUT 1 -i ${bridge} -j ${chain}`,
      // Docker gives internal networks a default route via the gateway: nothing may be forwarded from it
      `-I FORWARD 1 -i ${bridge} ${UNREACHABLE}`,
      `-I FORWARD 1 -o ${bridge} -j DROP`,
    ]);
    // IPv6 is off in the container too (sysctl); these hold even if it were not
    await restore(6, [`-I INPUT 1 -i ${bridge} -j DROP`, `-I FORWARD 1 -i ${bridge} -j DROP`]);
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
    line === `-A FORWARD -i ${bridge} ${UNREACHABLE}` ||
    line === `-A FORWARD -o ${bridge} -j DROP`
  );
}

/**
 * Removes every rule installFirewall added for `bridge`, as listed by `iptables -S` (so a rule left
 * twice by an interrupted run goes too), then its chain; one transaction per family. Idempotent.
 */
export async function removeFirewall(bridge: string): Promise<void> {
  const chain = chainName(bridge);
  for (let round = 0; round < 3; round++) {
    let clean = true;
    for (const family of [4, 6] as const) {
      const lines = await list(family);
      const ours = lines.filter((l) => isOurRule(l, bridge)).map((l) => l.replace(/^-A /, "-D "));
      if (family === 4 && lines.includes(`-N ${chain}`)) ours.push(`-F ${chain}`, `-X ${chain}`);
      if (ours.length === 0) continue;
      clean = false;
      await restore(family, ours).catch(() => undefined);
    }
    if (clean) return;
  }
}

async function list(family: 4 | 6): Promise<string[]> {
  try {
    const { stdout } = await run(family === 4 ? "iptables" : "ip6tables", ["-w", "30", "-S"], {
      timeout: TIMEOUT_MS,
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
