// How an error out of Monty becomes a GuestError: syntax location, unsupported feature, clipped traceback.
import { MontyRuntimeError, MontySyntaxError } from "@pydantic/monty";
import type { GuestError, GuestFrame } from "./protocol.ts";

/** Frames kept from a traceback (the innermost ones), and characters of its text. */
const MAX_FRAMES = 40;
const MAX_TRACEBACK_CHARS = 8000;

const frameOf = (f: {
  line: number;
  column: number;
  functionName?: string;
  sourceLine?: string;
}): GuestFrame => ({
  line: f.line,
  column: f.column,
  ...(f.functionName !== undefined ? { functionName: f.functionName } : {}),
  ...(f.sourceLine !== undefined ? { sourceLine: f.sourceLine.slice(0, 200) } : {}),
});

const clip = (text: string): string =>
  text.length <= MAX_TRACEBACK_CHARS
    ? text
    : `${text.slice(0, MAX_TRACEBACK_CHARS / 2)}\n  ...\n${text.slice(-MAX_TRACEBACK_CHARS / 2)}`;

/** Where a SyntaxError points: its display has `line N`, the source line and a `~` marker line. */
function syntaxLocation(display: string): { line?: number; column?: number } {
  const m = /File "[^"]*", line (\d+)\n {4}.*\n {4}( *)~/.exec(display);
  if (m !== null) return { line: Number(m[1]), column: m[2]!.length + 1 };
  const l = /File "[^"]*", line (\d+)/.exec(display);
  return l === null ? {} : { line: Number(l[1]) };
}

/** The native exception renders a traceback for syntax errors too; the wrapper's type omits that format. */
const displayTraceback = (error: MontySyntaxError): string =>
  (error as unknown as { display(format: string): string }).display("traceback");

/**
 * The guest's view of an error thrown while parsing (`parsing`) or running a script.
 * @example errorOf(error, true) // { kind: "syntax", message: "...", line: 3, column: 5 }
 */
export function errorOf(error: unknown, parsing: boolean): GuestError {
  if (error instanceof MontySyntaxError) {
    return { kind: "syntax", message: error.exception.message, ...syntaxLocation(displayTraceback(error)) };
  }
  if (error instanceof MontyRuntimeError) {
    const { typeName, message } = error.exception;
    const frames = error.traceback().map(frameOf);
    if (parsing && typeName === "NotImplementedError") {
      const first = frames[0];
      return {
        kind: "unsupported",
        message,
        ...(first !== undefined ? { line: first.line, column: first.column } : {}),
      };
    }
    return {
      kind: "exception",
      type: typeName,
      message,
      frames: frames.slice(-MAX_FRAMES),
      traceback: clip(error.display("traceback")),
    };
  }
  return {
    kind: "host",
    message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  };
}
