// Tool-name globs for policies: `*` matches within one dotted segment, `**` across segments.

const cache = new Map<string, RegExp>();

/**
 * Whether a tool name matches a pattern.
 * @example globMatch("github.*", "github.search") // true
 */
export function globMatch(pattern: string, name: string): boolean {
  let re = cache.get(pattern);
  if (!re) {
    const src = pattern
      .split(/(\*\*|\*)/)
      .map((part) =>
        part === "**" ? ".*" : part === "*" ? "[^.]*" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"),
      )
      .join("");
    re = new RegExp(`^${src}$`);
    cache.set(pattern, re);
  }
  return re.test(name);
}
