// The MCP tools of /mcp, bound to one caller: run_code, run_orchestration, list_tools, get_run, answer_run.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import {
  CODEMODE_LANGUAGES,
  ExecutionRequestSchema,
  StepKeySchema,
  type ExecutionResponse,
} from "@mend/wire";
import type { Services } from "../../services/services.ts";
import type { Caller } from "../../core/caller.ts";
import { runView, stepView } from "../../engine/run-view.ts";
import { fromRejection, HttpProblem, Rejection } from "../problem.ts";
import { validate } from "../read-body.ts";
import { VERSION } from "../../version.ts";

/** Answers of the tools: JSON text for any client, structuredContent for clients that read it. */
function ok(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }], structuredContent: value };
}

function toolError(value: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: "text", text: JSON.stringify(value, null, 2) }],
    structuredContent: value,
    isError: true,
  };
}

/** An execution: a failed one is a tool error whose content is the structured failure (FAILURES.md). */
function execution(res: ExecutionResponse): CallToolResult {
  if (res.status === "failed") return toolError({ failure: res.failure, execution: res });
  return ok(res);
}

/** A refused request (what HTTP would answer with problem+json) as a tool error; host faults propagate. */
async function guarded(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (err) {
    const p = err instanceof Rejection ? fromRejection(err) : err instanceof HttpProblem ? err : null;
    if (!p) throw err;
    return toolError({
      problem: { type: `urn:mend:problem:${p.type}`, status: p.status, detail: p.message, ...p.extra },
    });
  }
}

const limitsShape = z
  .record(z.string(), z.number())
  .optional()
  .describe("Limits, e.g. { memoryMb, timeoutMs }");

/**
 * A fresh MCP server exposing the service to one authenticated caller (stateless: one per HTTP request).
 * @example const server = mcpServerFor(services, c.get("caller")); await server.connect(transport)
 */
export function mcpServerFor(s: Services, who: Caller): McpServer {
  const server = new McpServer({ name: "mend", version: VERSION }, { capabilities: { tools: {} } });

  server.registerTool(
    "run_code",
    {
      description:
        "Run Python, Node or shell code once in a fresh, network-less container. Returns stdout, stderr, exitCode and " +
        "produced files; a failure (timeout, out_of_memory, missing_dependency, ...) comes back as a structured error with a remedy.",
      inputSchema: {
        image: z.string().describe("Runtime image: python, node or shell"),
        code: z.string().describe("The program"),
        files: z
          .array(
            z.object({
              path: z.string(),
              content: z.string(),
              encoding: z.enum(["utf8", "base64"]).optional(),
            }),
          )
          .optional(),
        stdin: z.string().optional(),
        limits: limitsShape,
      },
    },
    async (args) =>
      guarded(async () => {
        const req = validate(
          ExecutionRequestSchema,
          { sandbox: "container", ...stripUndefined(args) },
          "arguments",
        );
        return execution(await s.executor.oneOff(who, req));
      }),
  );

  server.registerTool(
    "run_orchestration",
    {
      description:
        "Run a code-mode script that orchestrates the allowed tools. JavaScript/TypeScript: `await tools.echo({ text })`, " +
        "top-level await, `return` the answer. Python (language: python): `tools.echo(text=...)`, the last expression is " +
        "the answer (see list_tools' pyi). With runId and key the script is a journaled step of that run.",
      inputSchema: {
        code: z
          .string()
          .describe(
            "Script body (JavaScript runs as an async function; Python's last expression is the result)",
          ),
        language: z.enum(CODEMODE_LANGUAGES).optional(),
        tools: z.array(z.string()).optional().describe("Narrow the bound tools to these"),
        limits: limitsShape,
        runId: z.string().optional().describe("A client-driven run to journal the script in"),
        key: z.string().optional().describe("The step key within runId (same key again replays)"),
      },
    },
    async ({ runId, key, ...rest }) =>
      guarded(async () => {
        const action = stripUndefined(rest);
        if (runId) {
          const stepKey = validate(StepKeySchema, key ?? "orchestration", "key");
          validate(ExecutionRequestSchema, { sandbox: "codemode", ...action }, "arguments");
          return execution(await s.runs.step(who, runId, stepKey, { type: "codemode", ...action }));
        }
        const req = validate(ExecutionRequestSchema, { sandbox: "codemode", ...action }, "arguments");
        return execution(await s.executor.oneOff(who, req));
      }),
  );

  server.registerTool(
    "list_tools",
    {
      description:
        "The tools a run_orchestration script may call, with JSON Schemas, their TypeScript declarations (dts) and Python stubs (pyi).",
      inputSchema: {},
    },
    async () =>
      guarded(async () => {
        const tools = (await s.tools.allowed(who)).map((t) => ({
          name: t.name,
          description: t.description,
          inputSchema: t.inputSchema,
          version: t.version,
        }));
        return ok({ tools, dts: await s.tools.declarations(who), pyi: await s.tools.pythonStubs(who) });
      }),
  );

  server.registerTool(
    "get_run",
    {
      description: "A run's status, output or failure, and (with steps: true) its journal.",
      inputSchema: { id: z.string(), steps: z.boolean().optional() },
    },
    async ({ id, steps }) =>
      guarded(async () => {
        const run = runView(await s.runs.get(who, id));
        if (!steps) return ok({ run });
        return ok({ run, steps: (await s.runs.steps(who, id)).map(stepView) });
      }),
  );

  server.registerTool(
    "answer_run",
    {
      description:
        "Answer a run that is waiting_for_input (its waitingFor says what it needs); the run resumes.",
      inputSchema: { id: z.string(), input: z.unknown().describe("The answer: text or JSON") },
    },
    async ({ id, input }) =>
      guarded(async () => {
        return ok({ run: runView(await s.runs.input(who, id, input)) });
      }),
  );

  return server;
}

function stripUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
