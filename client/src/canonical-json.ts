// Canonical JSON (sorted keys) and SHA-256, for step keys derived from arguments — same text on every platform.

/**
 * JSON with object keys sorted at every depth; `undefined` members dropped as JSON.stringify does.
 * @example canonicalJson({ b: 1, a: [2, { d: 1, c: 0 }] }) // '{"a":[2,{"c":0,"d":1}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const obj = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj)
        .sort()
        .map((k) => [k, obj[k]]),
    );
  });
}

/**
 * Hex SHA-256 of a string with Web Crypto (Node 20+, Deno, Bun, browsers).
 * @example await sha256Hex("abc") // "ba7816bf..."
 */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
