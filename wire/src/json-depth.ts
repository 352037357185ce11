// The nesting bound of every JSON value that crosses a boundary (HTTP bodies, tool arguments and results,
// script results), and the linear, non-recursive checks that enforce it before any recursive code runs.

/**
 * The deepest nesting of arrays and objects accepted anywhere: request bodies, tool arguments, tool
 * results, code-mode results. Deep enough for any real document (a tool schema nested 32 levels is 65
 * JSON levels); shallow enough that every recursive walk of the host (JSON.stringify, canonical JSON,
 * schema validation, the store) stays far from the call-stack limit.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * The nesting depth of a JSON text (`1` for `[]` or `{}`, `0` for a scalar), scanning it once without
 * recursion or parsing; stops as soon as the depth passes `limit` and returns `limit + 1`. Brackets inside
 * strings are skipped; the text need not be valid JSON (the parser still decides that).
 *
 * @example jsonTextDepth('{"a":[1,{"b":"]"}]}') // → 3
 */
export function jsonTextDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return limit + 1;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return max;
}

/** Objects walked at most by {@link valueDepthExceeds}: a value holding more is treated as over the bound. */
const MAX_WALKED_OBJECTS = 1_000_000;

/**
 * Whether a JavaScript value (already parsed, or built by host code) nests arrays/objects deeper than
 * `limit`, walked with an explicit stack (no recursion). A cycle counts as infinitely deep, and a value
 * holding more than a million objects (shared references counted once per path) as over the bound too,
 * so the walk itself stays bounded whatever the value.
 *
 * @example valueDepthExceeds({ a: [[1]] }, 2) // → true
 */
export function valueDepthExceeds(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== "object") return false;
  const stack: [object, number][] = [[value, 1]];
  let walked = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > limit || ++walked > MAX_WALKED_OBJECTS) return true;
    const children = Array.isArray(node) ? (node as unknown[]) : Object.values(node);
    for (const child of children) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}
