// Providers only accept tool names matching ^[a-zA-Z0-9_-]{1,64}$; our tools are dotted (`github.search`).
import { createHash } from "node:crypto";

/** The name pattern both OpenAI and Anthropic enforce on tools. */
export const PROVIDER_TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const MAX_NAME_CHARS = 64;

/**
 * Encodes a tool name for a provider: `.` → `__`, any other disallowed character → `-xx-` (its hex
 * code), and names over 64 characters are cut and suffixed with a short hash so they stay unique.
 * @example encodeToolName("github.search") // "github__search"
 */
export function encodeToolName(name: string): string {
  let out = "";
  for (const ch of name) {
    if (ch === ".") out += "__";
    else if (/[a-zA-Z0-9_-]/.test(ch)) out += ch;
    else out += `-${ch.codePointAt(0)!.toString(16)}-`;
  }
  if (out.length === 0) return "_";
  if (out.length <= MAX_NAME_CHARS) return out;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${out.slice(0, MAX_NAME_CHARS - hash.length - 1)}_${hash}`;
}

/**
 * Decodes a name the model produced back to ours: exact match against the offered tools first (which
 * also covers shortened names), then the inverse of the `.` rule, so unknown names stay readable.
 * @example decodeToolName("github__search", ["github.search"]) // "github.search"
 */
export function decodeToolName(encoded: string, offered: readonly string[] = []): string {
  for (const name of offered) if (encodeToolName(name) === encoded) return name;
  return encoded.replaceAll("__", ".");
}

/**
 * A decoder bound to one request's tools (encodes each offered name once).
 * @example const decode = toolNameDecoder(["kv.get"]); decode("kv__get") // "kv.get"
 */
export function toolNameDecoder(offered: readonly string[]): (encoded: string) => string {
  const map = new Map<string, string>();
  for (const name of offered) map.set(encodeToolName(name), name);
  return (encoded) => map.get(encoded) ?? encoded.replaceAll("__", ".");
}
