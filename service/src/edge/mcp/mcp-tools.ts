// The MCP tools of /mcp, bound to one caller: run_code, run_orchestration, list_tools, get_run, answer_run,
// resume_run, fork_run. Inputs are the wire's (strict-mode compatible as advertised), validated by the wire schemas.
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type CallToolResult,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { ExecutionRequestSchema, ForkRunSchema, StepKeySchema, type ExecutionRequest } from "@mend/wire";
import type { Services } from "../../services/services.ts";
import type { Caller } from "../../core/caller.ts";
import { runView, stepView } from "../../engine/run-view.ts";
import { fromExecution } from "../../engine/step-action.ts";
import { fromRejection, fromStoreError, HttpProblem, Rejection } from "../problem.ts";
import { validate } from "../read-body.ts";
import { VERSION } from "../../version.ts";
import {
  ANSWER_RUN_INPUT,
  EXECUTION_OUTPUT,
  FORK_RUN_INPUT,
  GET_RUN_INPUT,
  GET_RUN_OUTPUT,
  LIST_TOOLS_INPUT,
  LIST_TOOLS_OUTPUT,
  RESUME_RUN_INPUT,
  RUN_ORCHESTRATION_INPUT,
  RUN_OUTPUT,
  runCodeInput,
} from "./mcp-schemas.ts";
import { executionResult, problemResult, runSummary, structured } from "./mcp-results.ts";

type Args = Record<string, unknown>;

/** `null` means "not given" (strict-mode clients send every field): dropped at every depth of objects. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (typeof v !== "object" || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, withoutNulls(x)]),
  );
}

const invalid = (message: string, path: string) =>
  new HttpProblem(400, "validation", `arguments are invalid: ${path} ${message}`, {
    errors: [{ path, message }],
  });

/** A tool's arguments as a closed object of known fields (unknown ones are refused by the wire schema). */
function only(args: Args, fields: string[]): void {
  const unknown = Object.keys(args).find((k) => !fields.includes(k));
  if (unknown !== undefined) throw invalid("Unexpected property", `/${unknown}`);
}

const str = (args: Args, field: string): string => {
  const v = args[field];
  if (typeof v !== "string" || v === "") throw invalid("Expected a non-empty string", `/${field}`);
  return v;
};

/** One execution: a one-off (implicit run), or step `key` of client-driven run `runId`. */
async function execute(s: Services, who: Caller, sandbox: ExecutionRequest["sandbox"], args: Args) {
  const { runId, key, onInputMismatch, ...rest } = args;
  if ((runId === undefined) !== (key === undefined))
    throw invalid(
      "runId and key go together: a journaled step needs both",
      runId === undefined ? "/runId" : "/key",
    );
  const req = validate(ExecutionRequestSchema, { ...rest, sandbox }, "arguments");
  if (runId === undefined) return executionResult(await s.executor.oneOff(who, req, undefined, "mcp"));
  const stepKey = validate(StepKeySchema, key, "key");
  if (onInputMismatch !== undefined && onInputMismatch !== "reject" && onInputMismatch !== "replay")
    throw invalid('Expected "reject" or "replay"', "/onInputMismatch");
  const res = await s.runs.step(who, str(args, "runId"), stepKey, fromExecution(req), {
    ...(onInputMismatch ? { onInputMismatch: onInputMismatch } : {}),
  });
  return executionResult(res);
}

interface McpTool {
  definition: Tool;
  call(args: Args): Promise<CallToolResult>;
}

function tools(s: Services, who: Caller): McpTool[] {
  return [
    {
      definition: {
        name: "run_code",
        title: "Run code in a container",
        description:
          "Run Python, Node or shell code once in a fresh, network-less container. Returns stdout, stderr, exitCode and " +
          "produced files (reusable as input files by their blob sha256). A failed execution (timeout, out_of_memory, " +
          'missing_dependency, ...) is a result with status "failed" and a structured failure with a remedy. With ' +
          "runId and key it is a journaled step of that run (the same key replays).",
        inputSchema: runCodeInput(who.policy.container.images) as Tool["inputSchema"],
        outputSchema: EXECUTION_OUTPUT as Tool["outputSchema"],
        annotations: { openWorldHint: false },
      },
      call: (args) => execute(s, who, "container", args),
    },
    {
      definition: {
        name: "run_orchestration",
        title: "Run a code-mode script",
        description:
          "Run a code-mode script that orchestrates the allowed tools. JavaScript/TypeScript: `await tools.echo({ text })`, " +
          "top-level await, `return` the answer. Python (language: python): `tools.echo(text=...)`, the last expression is " +
          'the answer (see list_tools\' pyi). A failure is a result with status "failed" and a structured failure. With ' +
          "runId and key the script is a journaled step of that run (the same key replays).",
        inputSchema: RUN_ORCHESTRATION_INPUT as Tool["inputSchema"],
        outputSchema: EXECUTION_OUTPUT as Tool["outputSchema"],
        annotations: { openWorldHint: false },
      },
      call: (args) => execute(s, who, "codemode", args),
    },
    {
      definition: {
        name: "list_tools",
        title: "Tools of run_orchestration",
        description:
          "The tools a run_orchestration script may call, with JSON Schemas, their TypeScript declarations (dts) and Python stubs (pyi).",
        inputSchema: LIST_TOOLS_INPUT as Tool["inputSchema"],
        outputSchema: LIST_TOOLS_OUTPUT as Tool["outputSchema"],
        annotations: { readOnlyHint: true },
      },
      call: async (args) => {
        only(args, []);
        const list = (await s.tools.allowed(who)).map((t) => ({
          name: t.name,
          description: t.description,
          inputSchema: t.inputSchema,
          version: t.version,
        }));
        const dts = await s.tools.declarations(who);
        const pyi = await s.tools.pythonStubs(who);
        return structured(`${list.length} tools: ${list.map((t) => t.name).join(", ")}\n${dts}`, {
          tools: list,
          dts,
          pyi,
        });
      },
    },
    {
      definition: {
        name: "get_run",
        title: "Read a run",
        description:
          "A run's status, output or failure, what it waits for, and (with steps: true) its journal.",
        inputSchema: GET_RUN_INPUT as Tool["inputSchema"],
        outputSchema: GET_RUN_OUTPUT as Tool["outputSchema"],
        annotations: { readOnlyHint: true },
      },
      call: async (args) => {
        only(args, ["id", "steps"]);
        const id = str(args, "id");
        const run = runView(await s.runs.get(who, id));
        if (args.steps !== true) return structured(runSummary(run), { run });
        const steps = (await s.runs.steps(who, id)).map(stepView);
        return structured(`${runSummary(run)}; ${steps.length} steps`, { run, steps });
      },
    },
    {
      definition: {
        name: "answer_run",
        title: "Answer a waiting run",
        description:
          "Answer a run that is waiting_for_input (its waitingFor says what it needs); the run resumes with the answer.",
        inputSchema: ANSWER_RUN_INPUT as Tool["inputSchema"],
        outputSchema: RUN_OUTPUT as Tool["outputSchema"],
      },
      call: async (args) => {
        only(args, ["id", "input", "json"]);
        const text = args.input;
        if (typeof text !== "string") throw invalid("Expected string", "/input");
        let input: unknown = text;
        if (args.json === true) {
          try {
            input = JSON.parse(text);
          } catch (e) {
            throw invalid(`not valid JSON: ${(e as Error).message}`, "/input");
          }
        }
        const run = runView(await s.runs.input(who, str(args, "id"), input));
        return structured(runSummary(run), { run });
      },
    },
    {
      definition: {
        name: "resume_run",
        title: "Resume a run",
        description:
          "Resume a failed or waiting run (or one backing off from a model outage) from where it stopped: the journal " +
          "replays, and the step that stopped it runs again.",
        inputSchema: RESUME_RUN_INPUT as Tool["inputSchema"],
        outputSchema: RUN_OUTPUT as Tool["outputSchema"],
      },
      call: async (args) => {
        only(args, ["id"]);
        const run = runView(await s.runs.resume(who, str(args, "id")));
        return structured(runSummary(run), { run });
      },
    },
    {
      definition: {
        name: "fork_run",
        title: "Fork a run at a step",
        description:
          "Fork a run at step atSeq: a new run whose journal replays the run's steps before atSeq (nothing runs again) " +
          "and continues live from there with another goal, model or tools, or an edited step (replaceInput). A hosted " +
          "fork is driven at once; a client-driven fork takes new steps. The answer is the new run (parentRunId, forkedAtSeq).",
        inputSchema: FORK_RUN_INPUT as Tool["inputSchema"],
        outputSchema: RUN_OUTPUT as Tool["outputSchema"],
      },
      call: async (args) => {
        only(args, ["id", "atSeq", "goal", "model", "tools", "replaceInput"]);
        const { id: _id, model, replaceInput, ...rest } = args;
        let input: unknown;
        if (replaceInput !== undefined) {
          if (typeof replaceInput !== "string") throw invalid("Expected string", "/replaceInput");
          try {
            input = JSON.parse(replaceInput);
          } catch (e) {
            throw invalid(`not valid JSON: ${(e as Error).message}`, "/replaceInput");
          }
        }
        const body = validate(
          ForkRunSchema,
          {
            ...rest,
            ...(model !== undefined ? { model: { name: model } } : {}),
            ...(input !== undefined ? { replace: { seq: args.atSeq, input } } : {}),
          },
          "arguments",
        );
        const { run } = await s.runs.fork(who, str(args, "id"), body);
        const view = runView(run);
        return structured(
          `${runSummary(view)}; forked from ${view.parentRunId} at step ${view.forkedAtSeq}`,
          {
            run: view,
          },
        );
      },
    },
  ];
}

/**
 * A fresh MCP server exposing the service to one authenticated caller (stateless: one per HTTP request).
 * @example const server = mcpServerFor(services, c.get("caller")); await server.connect(transport)
 */
export function mcpServerFor(s: Services, who: Caller): Server {
  const server = new Server({ name: "mend", version: VERSION }, { capabilities: { tools: {} } });
  const list = tools(s, who);
  const byName = new Map(list.map((t) => [t.definition.name, t]));
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: list.map((t) => t.definition) }));
  server.setRequestHandler(CallToolRequestSchema, async (req): Promise<CallToolResult> => {
    const tool = byName.get(req.params.name);
    if (!tool) {
      return problemResult(
        new HttpProblem(
          404,
          "not-found",
          `no tool "${req.params.name}"; tools: ${[...byName.keys()].join(", ")}`,
        ),
      );
    }
    try {
      return await tool.call((withoutNulls(req.params.arguments ?? {}) as Args) ?? {});
    } catch (err) {
      // A refused request (what HTTP answers with problem+json) is a tool error; host faults propagate.
      if (err instanceof Rejection) return problemResult(fromRejection(err));
      if (err instanceof HttpProblem) return problemResult(err);
      const stored = fromStoreError(err, who.policy.limits);
      if (stored?.status === 507) return problemResult(stored);
      throw err;
    }
  });
  return server;
}
