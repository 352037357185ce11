// The code-mode engines, named once: the wire schema, the policy enum and the engine interface use these.
import { Type, type Static } from "@sinclair/typebox";

/** Every code-mode engine a request or a policy may name. */
export const CODEMODE_ENGINES = ["quickjs", "v8"] as const;

/** `engine` of a code-mode request. */
export const CodeModeEngineSchema = Type.Union([Type.Literal("quickjs"), Type.Literal("v8")], {
  description: "Code-mode engine: quickjs (default, WebAssembly) or v8 (isolates, for CPU-heavy scripts).",
});

/**
 * A code-mode engine's name.
 * @example const e: CodeModeEngineName = "quickjs"
 */
export type CodeModeEngineName = Static<typeof CodeModeEngineSchema>;
