// Removes stored credential values from text a tool endpoint sent back, before it can reach a journal or a log.

const MIN_SECRET_CHARS = 6;
const SCHEMES = /^(bearer|basic|digest|token)$/i;

/**
 * A function that replaces every secret (and each long word of a multi-word secret, e.g. the token of
 * "Bearer <token>") with "[redacted]".
 * @example redactor(["Bearer abc123xyz"])("echo: abc123xyz") // "echo: [redacted]"
 */
export function redactor(secrets: string[]): (text: string) => string {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (s.length >= MIN_SECRET_CHARS) needles.add(s);
    for (const word of s.split(/\s+/))
      if (word.length >= MIN_SECRET_CHARS && !SCHEMES.test(word)) needles.add(word);
  }
  const sorted = [...needles].sort((a, b) => b.length - a.length);
  if (sorted.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const n of sorted) out = out.split(n).join("[redacted]");
    return out;
  };
}
