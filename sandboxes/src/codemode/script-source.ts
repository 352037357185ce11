// Turns the user's code into the guest's source: an async wrapper on the user's first line, TS types stripped.
import { stripTypeScriptTypes } from "node:module";
import { makeFailure, type Failure } from "@mend/wire";
import type { CodeModeLanguage } from "./engine.ts";

/** Opens the async wrapper on the user's first line, so line numbers stay the user's. */
export const SCRIPT_PREFIX = "(async () => {";
/** Closes the wrapper on a line of its own (a trailing `//` comment in the code stays harmless). */
export const SCRIPT_SUFFIX = "\n})()";

/** The guest's source text and the file name its stack frames use. */
export interface PreparedScript {
  source: string;
  filename: "script.js" | "script.ts";
}

/**
 * Wraps the code in an async function (top-level `await` and `return` work) and, for TypeScript,
 * strips the types with `module.stripTypeScriptTypes` in "strip" mode (positions kept). Non-erasable
 * TypeScript (enums, namespaces) and TypeScript syntax errors become `syntax_error` with line and column.
 *
 * @example prepareScript("const x: number = 1; return x;", "typescript") // { ok: true, script: { source, filename: "script.ts" } }
 */
export function prepareScript(
  code: string,
  language: CodeModeLanguage,
): { ok: true; script: PreparedScript } | { ok: false; failure: Failure } {
  if (language === "python") {
    // The service routes Python to the Monty engine; a JavaScript engine never runs it.
    return {
      ok: false,
      failure: makeFailure(
        "policy_violation",
        'This engine runs JavaScript and TypeScript; Python runs on engine "monty".',
        false,
        { rule: "codemode.engines" },
      ),
    };
  }
  const wrapped = SCRIPT_PREFIX + code + SCRIPT_SUFFIX;
  if (language === "javascript") return { ok: true, script: { source: wrapped, filename: "script.js" } };
  try {
    return { ok: true, script: { source: quietStrip(wrapped), filename: "script.ts" } };
  } catch (error) {
    const e = error as { message?: string; stack?: string; code?: string };
    const message = String(e.message ?? error);
    const location = tsErrorLocation(String(e.stack ?? ""));
    const unsupported = e.code === "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX";
    return {
      ok: false,
      failure: makeFailure(
        "syntax_error",
        unsupported
          ? `${message}. Only erasable TypeScript is accepted (no enum, namespace or parameter properties).`
          : `The TypeScript does not parse: ${message}`,
        false,
        { ...(location ? { location } : {}), cause: { type: "SyntaxError", message } },
      ),
    };
  }
}

/** Where a stripTypeScriptTypes error points: its stack starts with ":LINE", the source line and a caret line. */
function tsErrorLocation(stack: string): { line: number; column: number } | undefined {
  const lines = stack.split("\n");
  const head = /:(\d+)\s*$/.exec(lines[0] ?? "");
  if (head === null) return undefined;
  const line = Number(head[1]);
  const caret = (lines[2] ?? "").indexOf("^");
  if (caret < 0) return { line, column: 1 };
  const column = caret + 1 - (line === 1 ? SCRIPT_PREFIX.length : 0);
  return { line, column: Math.max(1, column) };
}

let warningFilterInstalled = false;

/** stripTypeScriptTypes warns once that it is experimental: that warning only is dropped. */
function quietStrip(source: string): string {
  if (!warningFilterInstalled) {
    warningFilterInstalled = true;
    const emit = process.emitWarning.bind(process);
    process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
      const text = typeof warning === "string" ? warning : warning.message;
      if (text.includes("stripTypeScriptTypes")) return;
      (emit as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
    };
  }
  return stripTypeScriptTypes(source, { mode: "strip" });
}
