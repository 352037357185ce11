// The one destination decision for connections made on a tenant's behalf: refuse non-public ranges unless a rule opens them.
import { classifyAddress, describeRange, isPublicRange } from "./address-range.ts";
import { matchRule, parseDestinationRule, type DestinationRule } from "./destination-rules.ts";
import type { Resolver } from "./resolver.ts";

/** What the decision is asked about: the host as written in the URL and the port the socket would use. */
export interface Destination {
  host: string;
  port: number;
}

/** Why a destination was refused: every field is shown to the tenant (nothing here is secret). */
export interface DestinationDenial {
  host: string;
  port: number;
  /** The address the name resolved to (the one refused), or undefined when it did not resolve. */
  address?: string;
  /** ipaddr.js range name of the address (`loopback`, `linkLocal`, ...). */
  range?: string;
  /** The rule that refused: `destination.<range>` for a range refused by default. */
  rule: string;
  message: string;
}

export type DestinationDecision =
  { ok: true; address: string; family: 4 | 6; rule?: string } | { ok: false; denial: DestinationDenial };

export interface DestinationPolicy {
  /** Parsed `network.allow` rules of the caller's policy. */
  rules: readonly DestinationRule[];
  /** Operator setting (MEND_NETWORK_ALLOW_LOOPBACK): loopback addresses are open, for local development. */
  allowLoopback: boolean;
  /** Name of the policy, quoted in refusals. */
  policyName?: string;
}

/**
 * Parses `network.allow` entries; throws on the first that is not a rule (policies are validated at load,
 * so this only throws for input that skipped validation).
 * @example compileRules(["127.0.0.1:9000", "10.1.0.0/16", "api.example.com"])
 */
export function compileRules(texts: readonly string[]): DestinationRule[] {
  return texts.map((t) => {
    const r = parseDestinationRule(t);
    if (typeof r === "string") throw new Error(`network.allow: ${r}`);
    return r;
  });
}

/**
 * Decides one resolved address. Pure: no socket, no resolver.
 * @example decideAddress({ host: "localhost", port: 80 }, "127.0.0.1", policy) // { ok: false, ... }
 */
export function decideAddress(
  dest: Destination,
  address: string,
  policy: DestinationPolicy,
): DestinationDecision {
  const ip = classifyAddress(address);
  if (!ip) {
    return deny(dest, policy, { address, rule: "destination.address", why: "is not an IP address" });
  }
  const rule = matchRule(policy.rules, { host: dest.host, port: dest.port, address: ip.address });
  if (rule) return { ok: true, address: ip.address, family: ip.family, rule: rule.text };
  if (isPublicRange(ip.range)) return { ok: true, address: ip.address, family: ip.family };
  if (ip.range === "loopback" && policy.allowLoopback) {
    return { ok: true, address: ip.address, family: ip.family, rule: "MEND_NETWORK_ALLOW_LOOPBACK" };
  }
  return deny(dest, policy, {
    address: ip.address,
    range: ip.range,
    rule: `destination.${ip.range}`,
    why: `is in the ${describeRange(ip.range)} range, refused by default`,
  });
}

/**
 * Resolves the host and decides: the destination is refused when ANY of its addresses is refused (a
 * name with one public and one internal answer is refused, so the pick of address cannot be steered).
 * On success the caller must connect to exactly `address`.
 * @example await checkDestination({ host: "api.example.com", port: 443 }, policy, systemResolver())
 */
export async function checkDestination(
  dest: Destination,
  policy: DestinationPolicy,
  resolve: Resolver,
): Promise<DestinationDecision> {
  // An IP literal is where the socket goes: no resolver is asked about it.
  const literal = classifyAddress(dest.host);
  let answers: readonly { address: string }[];
  try {
    answers = literal ? [literal] : await resolve(dest.host);
  } catch (e) {
    const code = (e as { code?: string }).code ?? (e as Error).message;
    return deny(dest, policy, { rule: "destination.resolve", why: `does not resolve (${code})` });
  }
  if (answers.length === 0) return deny(dest, policy, { rule: "destination.resolve", why: "has no address" });
  let first: DestinationDecision | undefined;
  for (const a of answers) {
    const d = decideAddress(dest, a.address, policy);
    if (!d.ok) return d;
    first ??= d;
  }
  return first!;
}

function deny(
  dest: Destination,
  policy: DestinationPolicy,
  d: { address?: string; range?: string; rule: string; why: string },
): DestinationDecision {
  const at = d.address && d.address !== dest.host.replace(/^\[|\]$/g, "") ? ` (address ${d.address})` : "";
  const open = d.range
    ? `; a policy rule network.allow (e.g. "${d.address?.includes(":") ? `[${d.address}]` : d.address}:${dest.port}") opens it${d.range === "loopback" ? ", or the operator's MEND_NETWORK_ALLOW_LOOPBACK=1 for local development" : ""}`
    : "";
  const under = policy.policyName ? ` under policy "${policy.policyName}"` : "";
  return {
    ok: false,
    denial: {
      host: dest.host,
      port: dest.port,
      ...(d.address ? { address: d.address } : {}),
      ...(d.range ? { range: d.range } : {}),
      rule: d.rule,
      message: `destination ${dest.host}:${dest.port}${at} ${d.why}${under}${open}`,
    },
  };
}
