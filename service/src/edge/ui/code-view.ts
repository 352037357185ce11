// Code with line numbers and light syntax colouring, rendered on the server; the failing line is marked.
import { raw } from "hono/html";
import { esc, type Html } from "./ui-html.ts";

export type CodeLanguage = "javascript" | "python" | "shell";

export interface Token {
  type: "kw" | "str" | "com" | "num" | "txt";
  text: string;
}

const KEYWORDS: Record<CodeLanguage, ReadonlySet<string>> = {
  javascript: new Set(
    (
      "async await break case catch class const continue default delete do else export extends false finally for " +
      "from function if import in instanceof interface let new null of return static switch this throw true try " +
      "type typeof undefined var void while yield"
    ).split(" "),
  ),
  python: new Set(
    (
      "and as assert async await break class continue def del elif else except False finally for from global if " +
      "import in is lambda None nonlocal not or pass raise return True try while with yield print"
    ).split(" "),
  ),
  shell: new Set(
    "if then else elif fi for in do done while case esac function return export local echo".split(" "),
  ),
};

// One alternation per language; group order = comment, string, number, word.
const PATTERNS: Record<CodeLanguage, RegExp> = {
  javascript:
    /(\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|("(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?|`(?:\\[\s\S]|[^`\\])*`?)|(\b\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?\b)|([A-Za-z_$][\w$]*)/g,
  python:
    /(#[^\n]*)|("""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|[rbfu]{0,2}"(?:\\.|[^"\\\n])*"?|[rbfu]{0,2}'(?:\\.|[^'\\\n])*'?)|(\b\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?\b)|([A-Za-z_]\w*)/gi,
  shell: /(#[^\n]*)|("(?:\\.|[^"\\])*"?|'[^']*'?)|(\b\d+\b)|([A-Za-z_][\w-]*)/g,
};

/**
 * Splits code into coloured tokens, then into lines (a token spanning lines is cut at each newline).
 * @example tokenizeLines("const a = 1", "javascript")[0]?.[0] // { type: "kw", text: "const" }
 */
export function tokenizeLines(code: string, lang: CodeLanguage): Token[][] {
  const tokens: Token[] = [];
  const re = new RegExp(PATTERNS[lang].source, PATTERNS[lang].flags);
  let last = 0;
  for (let m = re.exec(code); m !== null; m = re.exec(code)) {
    if (m[0] === "") {
      re.lastIndex++;
      continue;
    }
    if (m.index > last) tokens.push({ type: "txt", text: code.slice(last, m.index) });
    const type: Token["type"] = m[1]
      ? "com"
      : m[2]
        ? "str"
        : m[3]
          ? "num"
          : KEYWORDS[lang].has(m[4] ?? "")
            ? "kw"
            : "txt";
    tokens.push({ type, text: m[0] });
    last = m.index + m[0].length;
  }
  if (last < code.length) tokens.push({ type: "txt", text: code.slice(last) });
  const lines: Token[][] = [[]];
  for (const t of tokens) {
    const parts = t.text.split("\n");
    parts.forEach((part, i) => {
      if (i > 0) lines.push([]);
      if (part) lines[lines.length - 1]!.push({ type: t.type, text: part });
    });
  }
  return lines;
}

/**
 * The language to colour a step's code with, from its action (code-mode `language`, container `image`).
 * @example languageOf({ type: "container", image: "python" }) // "python"
 */
export function languageOf(input: Record<string, unknown>): CodeLanguage {
  if (input.language === "python") return "python";
  const image = typeof input.image === "string" ? input.image : "";
  if (/python/i.test(image)) return "python";
  if (/shell|bash|sh$/i.test(image)) return "shell";
  return "javascript";
}

export interface CodeMark {
  line: number;
  column?: number;
  note: string;
}

/**
 * A code block: one <span class="line"> per line with its number; `mark` highlights the failing line
 * and puts the failure's note right under it. Built as a string (whitespace inside <pre> matters).
 * @example codeBlock("return 1", "javascript", { line: 1, note: "runtime_error" })
 */
export function codeBlock(code: string, lang: CodeLanguage, mark?: CodeMark): Html {
  const lines = tokenizeLines(code.replace(/\r\n?/g, "\n").replace(/\n$/, ""), lang);
  const width = String(lines.length).length;
  const out: string[] = [];
  lines.forEach((tokens, i) => {
    const n = i + 1;
    const failing = mark?.line === n;
    const body = tokens.map((t) =>
      t.type === "txt" ? esc(t.text) : `<span class="tok-${t.type}">${esc(t.text)}</span>`,
    );
    out.push(
      `<span class="line${failing ? " failing" : ""}" data-line="${n}"${failing ? ' id="failing-line"' : ""}>` +
        `<span class="ln" aria-hidden="true">${String(n).padStart(width, " ")}</span>` +
        `<span class="lc">${body.join("") || " "}</span></span>`,
    );
    if (failing && mark) {
      const at = mark.column ? `${n}:${mark.column}` : String(n);
      out.push(
        `<span class="line-note" role="note" style="padding-left:${width + 2.4}ch">▲ line ${at}: ${esc(mark.note)}</span>`,
      );
    }
  });
  return raw(
    `<pre class="code" tabindex="0" aria-label="Code, ${lines.length} lines"><code>${out.join("")}</code></pre>`,
  );
}
