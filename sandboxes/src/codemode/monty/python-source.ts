// Prepares a Python script for Monty: import statements checked against the pure allowlist, Mend's modules bound.
//
// Monty implements asyncio, datetime, json, math, re, sys and typing itself, plus os and pathlib (whose
// I/O is refused without mounts). Mend adds `random` (seeded) and `time` (the journaled clock, advanced
// only by time.sleep) as host namespaces. Import statements are rewritten in place, keeping every
// line where it was: `import random` → `random = (__mend_random)`, `import os` →
// `raise ModuleNotFoundError(...)` (catchable, like any missing module). Other modules are left to
// Monty, which raises ModuleNotFoundError for what it does not have.

/** Modules a script may import (Monty's pure ones and Mend's deterministic ones). */
export const ALLOWED_MODULES = [
  "asyncio",
  "datetime",
  "json",
  "math",
  "random",
  "re",
  "sys",
  "time",
  "typing",
];

/** Modules Monty has but code-mode refuses: they exist for I/O, which a script never has. */
const REFUSED_MODULES = new Set(["os", "pathlib"]);

/** Mend's own modules: the functions a script may import from them. */
export const MEND_MODULES: Record<string, readonly string[]> = {
  random: ["random", "randint", "randrange", "uniform", "choice", "sample", "shuffle", "seed", "getrandbits"],
  time: ["time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "sleep"],
};

/** The guest-side name bound to Mend's module `name` (or one of its functions). */
export const mendModuleName = (module: string, fn?: string): string =>
  fn === undefined ? `__mend_${module}` : `__mend_${module}_${fn}`;

/** A script ready for Monty: same lines as the user's code; `uses` lists the Mend modules it imports. */
export interface PreparedPython {
  source: string;
  uses: string[];
}

interface Statement {
  start: number;
  end: number;
  text: string;
}

const IDENT_START = /[\p{L}_]/u;
const IDENT = /[\p{L}\p{N}_]/u;

/**
 * Finds the import statements of a script (outside strings and comments, at bracket depth 0, at the
 * start of a simple statement) and rewrites those that name Mend's or refused modules.
 *
 * @example preparePython("import random\nx = random.random()").source // "random = (__mend_random)\nx = random.random()"
 */
export function preparePython(code: string): PreparedPython {
  const uses = new Set<string>();
  let out = "";
  let last = 0;
  for (const stmt of importStatements(code)) {
    const replacement = rewrite(stmt.text, uses);
    if (replacement === undefined) continue;
    out += code.slice(last, stmt.start) + replacement;
    last = stmt.end;
  }
  return { source: out + code.slice(last), uses: [...uses].sort() };
}

/** Skips a string literal starting at `i` (its opening quote); returns the index after it. */
function skipString(code: string, i: number): number {
  const quote = code[i]!;
  const triple = code.startsWith(quote.repeat(3), i);
  const close = triple ? quote.repeat(3) : quote;
  let j = i + close.length;
  while (j < code.length) {
    const c = code[j]!;
    if (c === "\\") j += 2;
    else if (code.startsWith(close, j)) return j + close.length;
    else if (!triple && c === "\n") return j;
    else j++;
  }
  return code.length;
}

/** Every `import …` / `from … import …` statement, with its source span (comments excluded). */
function importStatements(code: string): Statement[] {
  const found: Statement[] = [];
  let depth = 0;
  let atStart = true;
  let i = 0;
  while (i < code.length) {
    const c = code[i]!;
    if (c === "#") {
      while (i < code.length && code[i] !== "\n") i++;
      continue;
    }
    if (c === "\\" && code[i + 1] === "\n") {
      i += 2;
      continue;
    }
    if (c === "\n") {
      if (depth === 0) atStart = true;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f") {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      i = skipString(code, i);
      atStart = false;
      continue;
    }
    if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth = Math.max(0, depth - 1);
    if (depth === 0 && (c === ";" || c === ":")) {
      atStart = true;
      i++;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < code.length && IDENT.test(code[j]!)) j++;
      const word = code.slice(i, j);
      // A string prefix (r"", b'', f"", rb"" …) belongs to the literal.
      if (j < code.length && (code[j] === '"' || code[j] === "'") && /^[rbuf]{1,2}$/i.test(word)) {
        i = skipString(code, j);
        atStart = false;
        continue;
      }
      if (atStart && depth === 0 && (word === "import" || word === "from")) {
        const end = statementEnd(code, j);
        found.push({ start: i, end, text: code.slice(i, end) });
        i = end;
        atStart = false;
        continue;
      }
      atStart = false;
      i = j;
      continue;
    }
    atStart = false;
    i++;
  }
  return found;
}

/** End of the simple statement starting before `i`: a newline or `;` at depth 0, or a comment. */
function statementEnd(code: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < code.length) {
    const c = code[j]!;
    if (c === "\\" && code[j + 1] === "\n") j += 2;
    else if (c === '"' || c === "'") j = skipString(code, j);
    else if (c === "#") break;
    else if (c === "(" || c === ")") {
      depth += c === "(" ? 1 : -1;
      j++;
    } else if (depth <= 0 && (c === "\n" || c === ";")) break;
    else j++;
  }
  // Trailing whitespace stays outside the statement.
  while (j > i && /[ \t\r]/.test(code[j - 1]!)) j--;
  return j;
}

interface ImportItem {
  module: string;
  alias?: string;
}

/** Parses `import a.b as c, d` or `from m import x as y, (z)`; undefined when it is not an import. */
function parse(
  text: string,
):
  | { kind: "import"; items: ImportItem[] }
  | { kind: "from"; module: string; names: ImportItem[] }
  | undefined {
  const flat = text.replace(/\\\n/g, " ").replace(/[()]/g, " ").replace(/\s+/g, " ").trim();
  const asItem = (part: string): ImportItem | undefined => {
    const m = /^([\w.]+)(?: as (\w+))?$/u.exec(part.trim());
    if (m === null) return undefined;
    return m[2] === undefined ? { module: m[1]! } : { module: m[1]!, alias: m[2] };
  };
  if (flat.startsWith("import ")) {
    const items = flat.slice(7).split(",").map(asItem);
    if (items.some((item) => item === undefined)) return undefined;
    return { kind: "import", items: items as ImportItem[] };
  }
  const m = /^from ([\w.]+) import (.+)$/u.exec(flat);
  if (m === null) return undefined;
  const names =
    m[2]!.trim() === "*"
      ? [{ module: "*" }]
      : m[2]!
          .split(",")
          .filter((part) => part.trim() !== "")
          .map(asItem);
  if (names.some((item) => item === undefined)) return undefined;
  return { kind: "from", module: m[1]!, names: names as ImportItem[] };
}

const pyString = (text: string): string => JSON.stringify(text);

function refusedRaise(module: string): string {
  return `raise ModuleNotFoundError(${pyString(
    `No module named '${module}' in code-mode: scripts have no file system, environment or processes ` +
      `(use a tool, or run_code for a container). Allowed modules: ${ALLOWED_MODULES.join(", ")}`,
  )})`;
}

/** The replacement of one import statement, or undefined to keep it as written. */
function rewrite(text: string, uses: Set<string>): string | undefined {
  const parsed = parse(text);
  if (parsed === undefined) return undefined;
  const top = (module: string): string => module.split(".")[0]!;
  const special = (module: string): boolean =>
    MEND_MODULES[top(module)] !== undefined || REFUSED_MODULES.has(top(module));
  const generated: string[] = [];
  const kept: string[] = [];
  if (parsed.kind === "import") {
    if (!parsed.items.some((item) => special(item.module))) return undefined;
    for (const item of parsed.items) {
      const root = top(item.module);
      if (REFUSED_MODULES.has(root)) generated.push(refusedRaise(root));
      else if (MEND_MODULES[root] !== undefined) {
        if (item.module !== root) {
          generated.push(`raise ModuleNotFoundError(${pyString(`No module named '${item.module}'`)})`);
          continue;
        }
        uses.add(root);
        generated.push(`${item.alias ?? root} = (${mendModuleName(root)})`);
      } else kept.push(item.alias === undefined ? item.module : `${item.module} as ${item.alias}`);
    }
  } else {
    const root = top(parsed.module);
    if (!special(parsed.module)) return undefined;
    if (REFUSED_MODULES.has(root)) generated.push(refusedRaise(root));
    else if (parsed.module !== root) {
      generated.push(`raise ModuleNotFoundError(${pyString(`No module named '${parsed.module}'`)})`);
    } else {
      const functions = MEND_MODULES[root]!;
      uses.add(root);
      for (const name of parsed.names) {
        if (name.module === "*") {
          generated.push(
            `raise ImportError(${pyString(`from ${root} import * is not supported in code-mode; import the names you use`)})`,
          );
        } else if (!functions.includes(name.module)) {
          generated.push(
            `raise ImportError(${pyString(`cannot import name '${name.module}' from '${root}' (code-mode's ${root} has: ${functions.join(", ")})`)})`,
          );
        } else {
          generated.push(`${name.alias ?? name.module} = (${mendModuleName(root, name.module)})`);
        }
      }
    }
  }
  // The statement's own line breaks go inside the first generated parenthesis: lines stay put.
  const breaks = "\n".repeat((text.match(/\n/g) ?? []).length);
  const first = generated[0]!;
  const open = first.indexOf("(");
  generated[0] = `${first.slice(0, open + 1)}${breaks}${first.slice(open + 1)}`;
  return [...generated, ...(kept.length > 0 ? [`import ${kept.join(", ")}`] : [])].join("; ");
}
