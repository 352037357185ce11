// The system prompt and offered tools of a hosted run, built once per driver and shared between equal runs.
import type { LlmTool } from "../llm/llm-provider.ts";
import type { ToolCaller } from "../tools/tool-caller.ts";
import type { Caller } from "../core/caller.ts";
import { actionTools, offersPython } from "./loop-actions.ts";
import { systemPrompt } from "./loop-prompt.ts";
import { internPrompt } from "./prompt-interning.ts";

/**
 * The run's system prompt and offered tools, shared with every run that has equal ones. Built in a frame of
 * its own: the catalog, declarations and Python stubs it is made from are not kept for the run's life.
 * @example const { system, tools: offered } = await runPrompt(deps.tools, who, run.tools ?? undefined)
 */
export async function runPrompt(
  tools: ToolCaller,
  who: Caller,
  narrowedTo: string[] | undefined,
): Promise<{ system: string; tools: LlmTool[] }> {
  const policy = who.policy;
  const allowed = await tools.allowed(who, narrowedTo);
  const pyi = offersPython(policy) ? await tools.pythonStubs(who, narrowedTo) : undefined;
  return internPrompt(
    systemPrompt(policy, await tools.declarations(who, narrowedTo), pyi),
    actionTools(allowed, policy.container.images, policy, policy.container.enabled),
  );
}
