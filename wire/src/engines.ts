// The code-mode engines, named once: the wire schema, the policy enum and the engine interface use these.
import { Type, type Static } from "@sinclair/typebox";

/** Every code-mode engine a request or a policy may name. */
export const CODEMODE_ENGINES = ["quickjs", "v8", "monty"] as const;

/** `engine` of a code-mode request. */
export const CodeModeEngineSchema = Type.Union(
  [Type.Literal("quickjs"), Type.Literal("v8"), Type.Literal("monty")],
  {
    description:
      "Code-mode engine: quickjs (default for JavaScript/TypeScript, WebAssembly), v8 (isolates, for CPU-heavy scripts) or monty (Python; the default and only engine for language python).",
  },
);

/**
 * A code-mode engine's name.
 * @example const e: CodeModeEngineName = "quickjs"
 */
export type CodeModeEngineName = Static<typeof CodeModeEngineSchema>;

/** Every language a code-mode script may be written in. */
export const CODEMODE_LANGUAGES = ["javascript", "typescript", "python"] as const;

/** `language` of a code-mode request. */
export const CodeModeLanguageSchema = Type.Union(
  [Type.Literal("javascript"), Type.Literal("typescript"), Type.Literal("python")],
  {
    description:
      "Script language: javascript (default) or typescript on quickjs/v8; python (a subset, on Monty) orchestrates the same tools as `tools.<name>(key=value)`.",
  },
);

/**
 * A code-mode language.
 * @example const l: CodeModeLanguageName = "python"
 */
export type CodeModeLanguageName = Static<typeof CodeModeLanguageSchema>;

/**
 * The engines that run a language, default first.
 * @example enginesFor("python") // ["monty"]
 */
export function enginesFor(language: CodeModeLanguageName): readonly CodeModeEngineName[] {
  return language === "python" ? ["monty"] : ["quickjs", "v8"];
}
