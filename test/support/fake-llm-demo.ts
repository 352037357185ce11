// The README demo's model: writes Python that needs more memory than it asks for, then reports the result.
import type { ChatRequest, ToolResultMessage } from "./fake-llm-protocol.ts";
import { finish, runCode, type Turn } from "./fake-llm-turns.ts";

/** Allocates (and so touches) 80 MiB: killed at 64 MiB, fine at the 128 MiB the policy retries with. */
export const DEMO_CODE = [
  "data = b'x' * (80 * 1024 * 1024)",
  "print(f'allocated {len(data) // (1024 * 1024)} MiB in one piece')",
].join("\n");

/**
 * Turn 0: run DEMO_CODE with 64 MiB. Then: if the model is shown an out_of_memory (no policy healed it),
 * run it again with 256 MiB; otherwise finish with what the code printed.
 * @example startFakeLlm({ script: demoScript })
 */
export function demoScript(
  _request: ChatRequest,
  turn: number,
  ctx: { lastToolResult?: ToolResultMessage },
): Turn {
  if (turn === 0) return runCode("python", DEMO_CODE, { memoryMb: 64 });
  const result = ctx.lastToolResult?.content ?? "";
  if (result.includes("out_of_memory") && turn < 3) return runCode("python", DEMO_CODE, { memoryMb: 256 });
  return finish(`The code ran and printed: ${printed(result)}`);
}

/** The stdout in a tool result, whether the loop rendered it as JSON or as text. */
function printed(content: string): string {
  try {
    const v = JSON.parse(content) as { stdout?: unknown; output?: { stdout?: unknown } };
    const out = v.stdout ?? v.output?.stdout;
    if (typeof out === "string") return out.trim();
  } catch {
    /* not JSON: use the text */
  }
  const m = /allocated \d+ MiB[^\n"]*/.exec(content);
  return m ? m[0] : content.slice(0, 300);
}
