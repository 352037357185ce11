// Name resolution for the destination check: an operator hosts map first, then the system resolver.
import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { classifyAddress } from "./address-range.ts";

/** One resolved address of a name. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses. Injectable: unit tests feed answers without opening a socket. */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

/**
 * Reads an operator hosts file (MEND_HOSTS_FILE), /etc/hosts format: `address name [name...]` per line,
 * `#` starts a comment. Names map to their addresses in file order.
 * @example readHostsFile("/etc/mend/hosts").get("internal.test") // ["127.0.0.1"]
 */
export function readHostsFile(path: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  const lines = readFileSync(path, "utf8").split("\n");
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const [address, ...names] = line.split(/\s+/);
    if (!classifyAddress(address!) || names.length === 0) {
      throw new Error(`${path}:${i + 1}: expected "<address> <name> [name...]"`);
    }
    for (const n of names) map.set(n.toLowerCase(), [...(map.get(n.toLowerCase()) ?? []), address!]);
  });
  return map;
}

/**
 * The resolver the service uses: an IP literal is itself, a name in `hosts` gets the mapped addresses,
 * anything else goes to the system resolver (getaddrinfo, as Node's own connect would).
 * @example const resolve = systemResolver(new Map([["app.test", ["127.0.0.1"]]]))
 */
export function systemResolver(hosts: ReadonlyMap<string, readonly string[]> = new Map()): Resolver {
  return async (host) => {
    const name = host
      .replace(/^\[|\]$/g, "")
      .toLowerCase()
      .replace(/\.$/, "");
    const literal = classifyAddress(name);
    if (literal) return [{ address: literal.address, family: literal.family }];
    const mapped = hosts.get(name);
    if (mapped)
      return mapped.map((a) => classifyAddress(a)!).map((c) => ({ address: c.address, family: c.family }));
    const found = await lookup(name, { all: true, verbatim: true });
    return found.map((f) => ({ address: f.address, family: f.family === 6 ? 6 : 4 }));
  };
}
