// Which special-purpose range an IP address is in (ipaddr.js tables), for every spelling of the address.
import ipaddr from "ipaddr.js";

/** A parsed address: its canonical text and the range that decides whether it is reachable by default. */
export interface ClassifiedAddress {
  /** Canonical form: dotted quad for IPv4 (also for IPv4-mapped IPv6), RFC 5952 for IPv6. */
  address: string;
  family: 4 | 6;
  /** ipaddr.js range name (`loopback`, `private`, `linkLocal`, ...); `unicast` is a public address. */
  range: string;
}

/**
 * Parses an IP literal in any spelling a URL or resolver can produce (decimal `2130706433`, octal
 * `0177.0.0.1`, hex, short `127.1`, bracketed IPv6, IPv4-mapped `::ffff:127.0.0.1`), or null for a name.
 * IPv4-mapped IPv6 is classified as the IPv4 address it carries, since that is where the socket goes.
 * @example classifyAddress("2130706433") // { address: "127.0.0.1", family: 4, range: "loopback" }
 */
export function classifyAddress(text: string): ClassifiedAddress | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  // A zone id (fe80::1%eth0) names an interface: the address is what counts.
  const noZone = bare.includes(":") ? bare.replace(/%.*$/, "") : bare;
  if (!ipaddr.isValid(noZone)) return null;
  let ip = ipaddr.parse(noZone);
  if (ip.kind() === "ipv6" && (ip as ipaddr.IPv6).isIPv4MappedAddress())
    ip = (ip as ipaddr.IPv6).toIPv4Address();
  if (ip.kind() === "ipv4") return { address: ip.toString(), family: 4, range: ip.range() };
  const v6 = ip as ipaddr.IPv6;
  let range: string = v6.range();
  // ipaddr.js calls everything outside its table "unicast"; only 2000::/3 is global unicast space.
  if (range === "unicast" && !v6.match(ipaddr.IPv6.parse("2000::"), 3)) range = "reserved";
  return { address: v6.toRFC5952String(), family: 6, range };
}

/** Ranges refused unless a rule opens them; everything that is not public unicast. */
export function isPublicRange(range: string): boolean {
  return range === "unicast";
}

/** Human names of ipaddr.js ranges, for failure messages. */
const RANGE_TEXT: Record<string, string> = {
  loopback: "loopback (127.0.0.0/8, ::1)",
  private: "private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)",
  linkLocal: "link-local (169.254.0.0/16, fe80::/10; cloud metadata lives here)",
  uniqueLocal: "unique-local (fc00::/7)",
  carrierGradeNat: "carrier-grade NAT (100.64.0.0/10)",
  unspecified: "unspecified (0.0.0.0/8, ::)",
  multicast: "multicast",
  broadcast: "broadcast",
  reserved: "reserved",
};

/**
 * The range's name with its addresses, e.g. "loopback (127.0.0.0/8, ::1)".
 * @example describeRange("linkLocal")
 */
export function describeRange(range: string): string {
  return RANGE_TEXT[range] ?? `special-purpose (${range})`;
}
