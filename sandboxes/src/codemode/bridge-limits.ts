// Bounds of what crosses the bridge between a guest and the host, checked before any host code walks a value.
import { MAX_JSON_DEPTH, jsonTextDepth } from "@mend/wire";

/** Caps of every value that crosses the guest/host bridge (both engines). */
export const BRIDGE_LIMITS = {
  /** Nesting of tool arguments, tool results and script results (arrays and objects). */
  maxDepth: MAX_JSON_DEPTH,
  /** JSON text of one tool call's arguments, in bytes. */
  maxArgsBytes: 1024 * 1024,
  /** JSON text of one tool result handed to the guest, in bytes. */
  maxToolResultBytes: 16 * 1024 * 1024,
} as const;

/**
 * Why a JSON text from the guest (tool arguments, a result) is over the bridge's bounds, or undefined:
 * the size in UTF-8 bytes against `maxBytes`, then the nesting, scanned linearly (no parsing, no recursion).
 *
 * @example overBridgeBounds("[[[1]]]", 1024) // undefined
 */
export function overBridgeBounds(json: string, maxBytes: number): string | undefined {
  // UTF-16 length ≤ UTF-8 bytes ≤ 3 × length: the exact count is only needed near the cap.
  if (json.length > maxBytes || (json.length * 3 > maxBytes && Buffer.byteLength(json) > maxBytes)) {
    return `it is ${Buffer.byteLength(json)} bytes of JSON, over the ${maxBytes}-byte limit`;
  }
  if (jsonTextDepth(json, BRIDGE_LIMITS.maxDepth) > BRIDGE_LIMITS.maxDepth) {
    return `it is nested deeper than ${BRIDGE_LIMITS.maxDepth} levels (arrays and objects), the limit`;
  }
  return undefined;
}
