// Caps a QuickJS guest's console output at its byte limit: a line kept whole, cut to the room left, dropped.

/** What is kept of one console line, the bytes counted after it, and whether the cap was reached. */
export interface CappedLine {
  line: string | undefined;
  bytes: number;
  truncated: boolean;
}

/**
 * Fits `text` after `usedBytes` of output under `cap` (UTF-8 bytes): a line past the cap is cut to the
 * room left (nothing when none is), and the output counts as full.
 *
 * @example capLine("hello", 8, 10) // → { line: "he", bytes: 10, truncated: true }
 */
export function capLine(text: string, usedBytes: number, cap: number): CappedLine {
  const bytes = Buffer.byteLength(text);
  if (usedBytes + bytes <= cap) return { line: text, bytes: usedBytes + bytes, truncated: false };
  const room = cap - usedBytes;
  const line = room > 0 ? Buffer.from(text).subarray(0, room).toString() : undefined;
  return { line, bytes: cap, truncated: true };
}
