// One copy of what the hosted runs of a policy all send (system prompt, offered tools), however many runs hold it.
import type { LlmTool } from "../llm/llm-provider.ts";

/**
 * Distinct prompts/tool lists kept; past it the table starts afresh (runs keep their own references, a later
 * run just gets a new shared copy). Policies × tool narrowings in use are far fewer.
 */
const MAX_ENTRIES = 256;

const systems = new Map<string, string>();
const toolLists = new Map<string, LlmTool[]>();

function intern<T>(table: Map<string, T>, key: string, value: T): T {
  const known = table.get(key);
  if (known !== undefined) return known;
  if (table.size >= MAX_ENTRIES) table.clear();
  table.set(key, value);
  return value;
}

/**
 * The run's system prompt and offered tools, as the same objects every run with equal ones holds: 10,000 runs
 * of one policy keep one ~6 KB prompt and one tool list, and the per-list caches of the request's JSON
 * (model-turn.ts, openai-provider.ts) are built once for all of them. Keyed by content, so a changed catalog
 * or policy simply makes a new entry.
 * @example const { system, tools } = internPrompt(systemPrompt(policy, dts), actionTools(...))
 */
export function internPrompt(system: string, tools: LlmTool[]): { system: string; tools: LlmTool[] } {
  return {
    system: intern(systems, system, system),
    tools: intern(toolLists, JSON.stringify(tools), tools),
  };
}
