// What counts as loopback, for binding and for accepting callers without a key.
import { isIP } from "node:net";

/**
 * Whether a host name or address only reaches this machine.
 * @example isLoopback("127.0.0.1") // true; isLoopback("0.0.0.0") // false
 */
export function isLoopback(host: string | undefined): boolean {
  if (!host) return false;
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/** The host part of a Host header value (`localhost:8080` → `localhost`, `[::1]:80` → `::1`). */
function hostOf(hostHeader: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(hostHeader) ?? /^([^:]+)(?::\d+)?$/.exec(hostHeader);
  return m?.[1] ?? hostHeader;
}

/**
 * Why a keyless (loopback) request must be refused as coming from a web page, or null when it is fine:
 * a Host that is not a loopback name (DNS rebinding) or an Origin of another site (cross-site request).
 * @example foreignBrowserRequest("localhost:8080", "https://evil.example") // "cross-site Origin ..."
 */
export function foreignBrowserRequest(host: string | undefined, origin: string | undefined): string | null {
  if (host !== undefined && !isLoopback(hostOf(host))) return `Host "${host}" is not a loopback name`;
  if (origin === undefined || origin === "null") return origin === "null" ? 'Origin "null"' : null;
  try {
    return isLoopback(new URL(origin).hostname) ? null : `cross-site Origin "${origin}"`;
  } catch {
    return `malformed Origin "${origin}"`;
  }
}
