// JSON Schema `pattern` in linear time: compiled with re2js (RE2's automata, no backtracking), never RegExp.
import { RE2JS } from "re2js";

/** Longest pattern accepted (RE2 compiles in time linear in it; this bounds the program size too). */
export const MAX_PATTERN_CHARS = 1024;
const CACHE_LIMIT = 1024;
const cache = new Map<string, RE2JS | string>();
/** `\k<` preceded by an even number of backslashes: a named backreference. */
const NAMED_BACKREFERENCE = /(?:^|[^\\])(?:\\\\)*\\k</;
const UNSUPPORTED = (detail: string): string =>
  `not a linear-time regular expression (${detail}); backreferences and lookaround are not supported`;

/**
 * The compiled form of a schema `pattern`, or why it cannot be used: not a string, too long, or not a
 * regular expression RE2 can run in linear time (backreferences, lookaround and the like are refused).
 * ECMA-262 spellings (`(?<name>…)`, `\/`) are translated first. Cached per pattern text.
 *
 * @example compilePattern("^[a-z]+$") // → an RE2JS; compilePattern("(a)\\1") // → "not a linear-time …"
 */
export function compilePattern(pattern: unknown): RE2JS | string {
  if (typeof pattern !== "string") return "a pattern must be a string";
  if (pattern.length > MAX_PATTERN_CHARS) return `a pattern may have at most ${MAX_PATTERN_CHARS} characters`;
  let compiled = cache.get(pattern);
  if (compiled === undefined) {
    // translateRegExp would turn a named backreference into literal text: refuse it instead.
    if (NAMED_BACKREFERENCE.test(pattern)) compiled = UNSUPPORTED("named backreference");
    else
      try {
        compiled = RE2JS.compile(RE2JS.translateRegExp(pattern));
      } catch (error) {
        compiled = UNSUPPORTED(error instanceof Error ? error.message : String(error));
      }
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(pattern, compiled);
  }
  return compiled;
}

/**
 * Why `pattern` cannot be used in a tool schema, or null when it can (used at registration).
 * @example patternProblem("^(a+)+$") // → null: RE2 runs it in linear time
 */
export function patternProblem(pattern: unknown): string | null {
  const compiled = compilePattern(pattern);
  return typeof compiled === "string" ? compiled : null;
}

/**
 * Whether `value` contains a match of the compiled pattern (JSON Schema semantics: unanchored), in time
 * linear in the input.
 * @example patternMatches(compilePattern("^a*a*a*$") as RE2JS, "a".repeat(2000) + "!") // → false, at once
 */
export function patternMatches(compiled: RE2JS, value: string): boolean {
  return compiled.test(value);
}
