// The actions a hosted run's model may take, offered as tools: the policy's tools plus the fallbacks.
import type { LlmTool } from "../llm/llm-provider.ts";
import type { Policy } from "../policy/policy-schema.ts";
import type { ToolDefinition } from "../tools/tool.ts";

export const RUN_ORCHESTRATION = "run_orchestration";
export const RUN_CODE = "run_code";
export const ASK_HUMAN = "ask_human";
export const FINISH = "finish";
export const LOOP_ACTIONS = [RUN_ORCHESTRATION, RUN_CODE, ASK_HUMAN, FINISH] as const;

/**
 * Whether the policy lets the model orchestrate in Python (the language and the Monty engine).
 * @example offersPython(policy) // true under policies/default.yaml
 */
export function offersPython(policy: Pick<Policy, "codemode">): boolean {
  const c = policy.codemode;
  return c.enabled && c.languages.includes("python") && c.engines.includes("monty");
}

/** The limits a script may ask for, when the defaults are not enough (a failure says which). */
const CODEMODE_LIMITS = {
  type: "object",
  description: "Limits of this script, when the defaults are not enough (a failure says which)",
  properties: {
    memoryMb: { type: "number" },
    timeoutMs: { type: "integer" },
    maxToolCalls: { type: "integer" },
  },
  additionalProperties: false,
};

function orchestrationTool(python: boolean): LlmTool {
  const js =
    "Run JavaScript (an async function body; use `return`) that orchestrates the tools above through `tools.<name>(args)`. " +
    "No I/O, network or imports. Use it for loops, fan-out (Promise.all) and data shaping across several tool calls.";
  const code = {
    type: "string",
    description: python
      ? "JavaScript body, e.g. `const r = await tools.echo({text:'x'}); return r;`, or with language python a script " +
        "whose last expression is the result, e.g. `r = tools.echo(text='x')\nr['text']`"
      : "JavaScript body, e.g. `const r = await tools.echo({text:'x'}); return r;`",
  };
  if (!python) {
    return {
      name: RUN_ORCHESTRATION,
      description: js,
      inputSchema: {
        type: "object",
        properties: { code, limits: CODEMODE_LIMITS },
        required: ["code"],
        additionalProperties: false,
      },
    };
  }
  return {
    name: RUN_ORCHESTRATION,
    description:
      `${js} With language "python", write Python instead: \`tools.<name>(key=value)\` returns the result directly ` +
      "(no await), the value of the last expression is the answer, and a failed call raises an exception you can catch.",
    inputSchema: {
      type: "object",
      properties: {
        code,
        language: {
          enum: ["javascript", "python"],
          description: "The script's language (default javascript)",
        },
        limits: CODEMODE_LIMITS,
      },
      required: ["code"],
      additionalProperties: false,
    },
  };
}

/**
 * The tool list of one model turn. Structured tools keep their own names and schemas. `codemode` is
 * whether code-mode is enabled, or the policy itself (then run_orchestration offers Python when allowed).
 * @example actionTools(allowedTools, ["python", "shell"], policy, true)
 */
export function actionTools(
  tools: ToolDefinition[],
  images: string[],
  codemode: boolean | Pick<Policy, "codemode">,
  containers: boolean,
): LlmTool[] {
  const out: LlmTool[] = tools.map((t) => ({
    name: t.name,
    description: t.description,
    inputSchema: t.inputSchema,
  }));
  const enabled = typeof codemode === "boolean" ? codemode : codemode.codemode.enabled;
  if (enabled) out.push(orchestrationTool(typeof codemode !== "boolean" && offersPython(codemode)));
  if (containers && images.length > 0) {
    out.push({
      name: RUN_CODE,
      description:
        "Run arbitrary code once in a fresh, isolated container with no network. Print results to stdout; files written under " +
        "/workspace/out are returned. Ask for higher `limits` when a limit was hit.",
      inputSchema: {
        type: "object",
        properties: {
          image: { enum: images, description: "Runtime image" },
          code: {
            type: "string",
            description: "Program text (Python for `python`, JavaScript for `node`, bash for `shell`)",
          },
          files: {
            type: "array",
            description:
              "Input files under /workspace: text content, or a blob (the sha256 of an earlier output file)",
            items: {
              type: "object",
              properties: {
                path: { type: "string" },
                content: { type: "string" },
                blob: { type: "string", description: "sha256 of a file an earlier step produced" },
              },
              required: ["path"],
              additionalProperties: false,
            },
          },
          limits: {
            type: "object",
            description: "Limits of this execution, when the defaults are not enough (a failure says which)",
            properties: {
              memoryMb: { type: "number" },
              timeoutMs: { type: "integer" },
              cpus: { type: "number" },
              diskMb: { type: "number" },
            },
            additionalProperties: false,
          },
        },
        required: ["image", "code"],
        additionalProperties: false,
      },
    });
  }
  out.push(
    {
      name: ASK_HUMAN,
      description:
        "Pause and ask a human for information or a decision you cannot get otherwise. The run resumes with the answer.",
      inputSchema: {
        type: "object",
        properties: { question: { type: "string" } },
        required: ["question"],
        additionalProperties: false,
      },
    },
    {
      name: FINISH,
      description: "End the run with the final answer to the goal.",
      inputSchema: {
        type: "object",
        properties: { answer: { description: "The final answer (text or JSON)" } },
        required: ["answer"],
        additionalProperties: false,
      },
    },
  );
  return out;
}
