// Policy `network.allow` rules: an address, a CIDR range or a host name (globs), each optionally with a port.
import ipaddr from "ipaddr.js";
import { classifyAddress } from "./address-range.ts";

/** One parsed rule; `text` is the rule as written (quoted back in refusals). */
export type DestinationRule =
  | { kind: "cidr"; text: string; network: ipaddr.IPv4 | ipaddr.IPv6; bits: number; port?: number }
  | { kind: "host"; text: string; pattern: RegExp; port?: number };

/**
 * Parses a rule, or returns a one-line reason it is not one. Forms: `127.0.0.1:9000`, `[::1]:8080`,
 * `10.1.0.0/16`, `10.1.0.0/16:443`, `api.example.com`, `api.example.com:443`, `*.example.com`
 * (`*` one label, `**` several).
 * @example parseDestinationRule("10.1.0.0/16") // { kind: "cidr", bits: 16, ... }
 */
export function parseDestinationRule(text: string): DestinationRule | string {
  const t = text.trim().toLowerCase();
  if (t === "") return "empty rule";
  let hostPart = t;
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket) {
    hostPart = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if ((t.match(/:/g) ?? []).length === 1) {
    const i = t.lastIndexOf(":");
    const p = t.slice(i + 1);
    if (!/^\d+$/.test(p)) return `"${text}": the port must be a number`;
    hostPart = t.slice(0, i);
    port = Number(p);
  }
  if (port !== undefined && (port < 1 || port > 65535)) return `"${text}": port out of range`;
  const withPort = port === undefined ? {} : { port };
  if (hostPart.includes("/")) {
    const [addr, bitsText] = hostPart.split("/") as [string, string];
    if (!ipaddr.isValid(addr) || !/^\d+$/.test(bitsText)) return `"${text}": not a CIDR range`;
    const network = ipaddr.parse(addr);
    const bits = Number(bitsText);
    if (bits > (network.kind() === "ipv4" ? 32 : 128)) return `"${text}": prefix length out of range`;
    return { kind: "cidr", text, network, bits, ...withPort };
  }
  const ip = classifyAddress(hostPart);
  if (ip) {
    return {
      kind: "cidr",
      text,
      network: ipaddr.parse(ip.address),
      bits: ip.family === 4 ? 32 : 128,
      ...withPort,
    };
  }
  if (!/^[a-z0-9*_-]+(\.[a-z0-9*_-]+)*\.?$/.test(hostPart)) return `"${text}": not a host name`;
  return { kind: "host", text, pattern: hostGlob(hostPart.replace(/\.$/, "")), ...withPort };
}

function hostGlob(glob: string): RegExp {
  const body = glob
    .split(".")
    .map((label) =>
      label === "**" ? "[a-z0-9_.-]+" : label.replace(/[-]/g, "\\-").replace(/\*/g, "[a-z0-9_-]*"),
    )
    .join("\\.");
  return new RegExp(`^${body}$`);
}

/**
 * The first rule that opens this destination: a host rule matches the name that was asked for, a CIDR
 * rule the address the socket would connect to; a rule's port, when given, must match too.
 * @example matchRule(rules, { host: "127.0.0.1", port: 9000, address: "127.0.0.1" })
 */
export function matchRule(
  rules: readonly DestinationRule[],
  dest: { host: string; port: number; address: string },
): DestinationRule | undefined {
  const host = dest.host
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  const addr = ipaddr.parse(dest.address);
  return rules.find((r) => {
    if (r.port !== undefined && r.port !== dest.port) return false;
    if (r.kind === "host") return r.pattern.test(host);
    return addr.kind() === r.network.kind() && addr.match(r.network, r.bits);
  });
}
