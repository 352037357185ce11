// The model's standing instructions for a hosted run: goal, limits, tool declarations, how failures look.
import type { Policy } from "../policy/policy-schema.ts";

/**
 * System prompt of a hosted run. Stable for the life of a run so replays send the same text.
 * `toolsPyi` (the Python stubs) is given when the policy lets the model orchestrate in Python.
 * @example systemPrompt(policy, "declare const tools: {...}", "class _Tools: ...")
 */
export function systemPrompt(policy: Policy, toolsDts: string, toolsPyi?: string): string {
  const c = policy.container;
  const python =
    toolsPyi === undefined
      ? []
      : [
          "",
          'run_orchestration also runs Python with language "python" (a subset of Python 3 on Monty: no classes, no',
          "imports beyond asyncio, datetime, json, math, random, re, sys, time, typing). Call tools with keyword",
          "arguments, without await; the value of the last expression is the result. Python stubs of `tools`:",
          "```python",
          toolsPyi.trim(),
          "```",
        ];
  return [
    "You are an agent running inside Mend, a durable execution service. Reach the goal by calling tools.",
    "Every action's result comes back as JSON. When an action fails, its `failure` says what happened (kind, layer,",
    "message, limits, usage, remedy). Infrastructure failures (out_of_memory, timeout, disk_full, container_lost) are",
    "information, not the end: apply the remedy (e.g. ask for more memory via run_code's `limits`) or change approach.",
    "Some failures are healed automatically by policy; the result then lists them under `healedAfter`.",
    "",
    `Actions: the structured tools; run_orchestration(code${toolsPyi === undefined ? "" : ", language?"}, limits?) to orchestrate those tools from JavaScript${toolsPyi === undefined ? "" : " or Python"};`,
    `run_code(image, code, files?, limits?) for anything else (images: ${c.enabled ? c.images.join(", ") : "none"});`,
    "ask_human(question) when only a person can help; finish(answer) to end with the final answer.",
    "",
    `Limits (defaults / maxima): container memoryMb ${c.defaults.memoryMb}/${c.max.memoryMb}, timeoutMs ${c.defaults.timeoutMs}/${c.max.timeoutMs},`,
    `cpus ${c.defaults.cpus}/${c.max.cpus}, diskMb ${c.defaults.diskMb}/${c.max.diskMb}; code-mode memoryMb ${policy.codemode.defaults.memoryMb}/${policy.codemode.max.memoryMb},`,
    `timeoutMs ${policy.codemode.defaults.timeoutMs}/${policy.codemode.max.timeoutMs}. Asking for more than a maximum fails with policy_violation.`,
    "",
    "TypeScript declarations of `tools` inside run_orchestration:",
    "```ts",
    toolsDts.trim(),
    "```",
    ...python,
  ].join("\n");
}

/** The first user message: the goal. Its first line identifies the conversation (goal verbatim). */
export function goalMessage(goal: string): string {
  return `Goal: ${goal}`;
}
