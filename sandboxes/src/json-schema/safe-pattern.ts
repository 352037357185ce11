// Which `pattern`s a schema may use: JavaScript regexes backtrack, so a hostile pattern plus a crafted
// string could block the event loop (ReDoS). Patterns that can blow up are refused or not enforced.

/** Longest pattern accepted. */
const MAX_PATTERN_CHARS = 256;

/** A group holding an unbounded quantifier (or an alternation) that is itself repeated: `(a+)+`, `(a|aa)*`. */
const NESTED_REPEAT = /\((?:[^()\\]|\\.)*(?:[+*]|\{\d*,\}|\|)(?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d*,\d*\})/;
const BACKREFERENCE = /\\(?:[1-9]|k<)/;

/**
 * Why a pattern is unsafe (or not a valid regex), or null when it is safe to run on untrusted input.
 * @example unsafePattern("^(a+)+$") // "nested repetition can take exponential time"
 */
export function unsafePattern(pattern: unknown): string | null {
  if (typeof pattern !== "string") return "a pattern must be a string";
  if (pattern.length > MAX_PATTERN_CHARS) return `a pattern may have at most ${MAX_PATTERN_CHARS} characters`;
  try {
    new RegExp(pattern, "u");
  } catch (e) {
    return `not a valid regular expression: ${(e as Error).message}`;
  }
  if (BACKREFERENCE.test(pattern)) return "backreferences can take exponential time";
  if (NESTED_REPEAT.test(pattern)) return "nested repetition can take exponential time";
  return null;
}
