// The egress decision for one container job: is host:port allowlisted, and which address to connect to.
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";

/** What the proxy asks before connecting: the address to dial (the one that was checked), or why not. */
export type EgressVerdict = { address: string } | { denied: string };

/**
 * Decides one destination. The proxy connects to the returned address and nothing else, so a name
 * that resolves differently later (DNS rebinding) changes nothing.
 */
export type EgressCheck = (host: string, port: number) => Promise<EgressVerdict>;

/** Resolves a name to addresses (injectable: tests map test names to loopback). */
export type EgressLookup = (host: string) => Promise<string[]>;

/** One allowlist entry: a host name or IP literal, and a port (absent: 80 and 443). */
export interface AllowEntry {
  host: string;
  port?: number;
}

const MAX_HOST_CHARS = 253;

/**
 * Parses `"host:port"`, `"host"` or `"[v6]:port"`; throws on anything else (policy validation uses it).
 * @example parseAllowEntry("pypi.internal:443") // { host: "pypi.internal", port: 443 }
 */
export function parseAllowEntry(entry: string): AllowEntry {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/]+))(?::(\d{1,5}))?$/.exec(entry);
  if (m === null)
    throw new TypeError(`egress host ${JSON.stringify(entry)}: expected host, host:port or [v6]:port`);
  const host = normalizeHost(m[1] ?? m[2] ?? "");
  if (host.length === 0 || host.length > MAX_HOST_CHARS)
    throw new TypeError(`egress host ${JSON.stringify(entry)}: bad host`);
  if (m[1] !== undefined && isIP(host) !== 6)
    throw new TypeError(`egress host ${JSON.stringify(entry)}: bad IPv6 literal`);
  if (m[3] === undefined) return { host };
  const port = Number(m[3]);
  if (port < 1 || port > 65535)
    throw new TypeError(`egress host ${JSON.stringify(entry)}: port out of range`);
  return { host, port };
}

/** Lower-cased, without a trailing dot or IPv6 brackets: the form entries and requests are compared in. */
export function normalizeHost(host: string): string {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return h.toLowerCase().replace(/\.$/, "");
}

/** True when the allowlist names this host and port (an entry without a port admits 80 and 443). */
export function allowlisted(entries: readonly AllowEntry[], host: string, port: number): boolean {
  const h = normalizeHost(host);
  return entries.some(
    (e) => e.host === h && (e.port === undefined ? port === 80 || port === 443 : e.port === port),
  );
}

/** The system resolver, every address. */
export const systemLookup: EgressLookup = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * The default check: only allowlisted host:port pairs, resolved once; the first address is dialled.
 * The lead's destination policy (loopback/private ranges) wraps or replaces this at merge.
 * @example
 * const check = allowlistCheck(["127.0.0.1:8080"]);
 * await check("127.0.0.1", 8080); // { address: "127.0.0.1" }
 * await check("example.com", 443); // { denied: "example.com:443 is not in the egress allowlist" }
 */
export function allowlistCheck(hosts: readonly string[], lookup: EgressLookup = systemLookup): EgressCheck {
  const entries = hosts.map(parseAllowEntry);
  return async (host, port) => {
    const h = normalizeHost(host);
    if (!allowlisted(entries, h, port))
      return { denied: `${hostPort(h, port)} is not in the egress allowlist` };
    if (isIP(h) !== 0) return { address: h };
    let addresses: string[];
    try {
      addresses = await lookup(h);
    } catch (err) {
      return { denied: `${h} did not resolve (${(err as NodeJS.ErrnoException).code ?? "error"})` };
    }
    const first = addresses.find((a) => isIP(a) !== 0);
    return first === undefined ? { denied: `${h} did not resolve` } : { address: first };
  };
}

/** `host:port`, with brackets around IPv6 literals. */
export function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
