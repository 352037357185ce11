// Fixtures of the code-mode tests and benchmarks: test tools and their host side, limits, an in-memory journal.
import { makeFailure } from "@mend/wire";
import type {
  CodeModeLimits,
  CodeModeRequest,
  InterpreterSnapshot,
  ToolBinding,
  ToolCallJournal,
  ToolCallRecord,
  ToolInvoker,
} from "../codemode/engine.ts";

/** Limits small enough for tests to hit quickly. */
export const TEST_LIMITS: CodeModeLimits = {
  memoryMb: 32,
  timeoutMs: 2000,
  stackKb: 256,
  maxToolCalls: 20,
  maxLogBytes: 4096,
  maxResultBytes: 65536,
};

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: "object",
  properties,
  required,
});

/** The tools every conformance test binds. */
export const TEST_TOOLS: ToolBinding[] = [
  {
    name: "echo",
    description: "Returns its arguments.",
    inputSchema: obj({ text: { type: "string" } }, ["text"]),
  },
  { name: "add", inputSchema: obj({ a: { type: "number" }, b: { type: "number" } }, ["a", "b"]) },
  { name: "sleep", inputSchema: obj({ ms: { type: "integer", minimum: 0 } }, ["ms"]) },
  { name: "fails", inputSchema: obj({}) },
  { name: "throws", inputSchema: obj({}) },
  { name: "rejects", inputSchema: obj({}) },
  {
    name: "deep",
    description: "Returns arrays nested `levels` deep.",
    inputSchema: obj({ levels: { type: "integer", minimum: 0 } }, ["levels"]),
  },
  { name: "github.search", inputSchema: obj({ q: { type: "string" }, limit: { type: "integer" } }, ["q"]) },
  {
    name: "strict",
    inputSchema: {
      type: "object",
      properties: {
        user: obj({ name: { type: "string" }, age: { type: "integer", minimum: 0 } }, ["name", "age"]),
      },
      required: ["user"],
      additionalProperties: false,
    },
  },
];

/** A host implementation of TEST_TOOLS that counts its calls. */
export function testInvoker(): ToolInvoker & { calls: { tool: string; args: unknown }[] } {
  const calls: { tool: string; args: unknown }[] = [];
  const invoke: ToolInvoker = async ({ tool, args }) => {
    calls.push({ tool, args });
    const a = args as Record<string, unknown>;
    switch (tool) {
      case "echo":
        return { ok: true, value: { text: a.text } };
      case "add":
        return { ok: true, value: (a.a as number) + (a.b as number) };
      case "sleep":
        await new Promise((resolve) => setTimeout(resolve, a.ms as number));
        return { ok: true, value: a.ms };
      case "fails":
        return {
          ok: false,
          failure: makeFailure("tool_failed", "upstream said 503", true, { tool, status: 503 }),
        };
      case "throws":
        throw new Error("host bug in tool");
      case "rejects":
        return Promise.reject(new TypeError("host rejected"));
      case "deep": {
        let value: unknown = [];
        for (let i = 1; i < (a.levels as number); i++) value = [value];
        return { ok: true, value };
      }
      case "github.search":
        return { ok: true, value: { hits: [`${String(a.q)}-1`], limit: a.limit ?? null } };
      default:
        return { ok: true, value: null };
    }
  };
  return Object.assign(invoke, { calls });
}

/** A journal kept in memory, as the service's store would keep it (every snapshot kept, latest wins). */
export class MemoryJournal implements ToolCallJournal {
  readonly records: ToolCallRecord[];
  readonly snapshots: InterpreterSnapshot[];
  constructor(records: ToolCallRecord[] = [], snapshots: InterpreterSnapshot[] = []) {
    this.records = [...records];
    this.snapshots = [...snapshots];
  }
  async recorded(): Promise<ToolCallRecord[]> {
    return [...this.records];
  }
  async record(call: ToolCallRecord): Promise<void> {
    this.records.push(call);
  }
  async saveSnapshot(snapshot: InterpreterSnapshot): Promise<void> {
    this.snapshots.push(snapshot);
  }
  async latestSnapshot(): Promise<InterpreterSnapshot | undefined> {
    return this.snapshots.at(-1);
  }
}

/** A Python request for `code` with the test tools and limits; `overrides` replace fields. */
export function pythonRequest(code: string, overrides: Partial<CodeModeRequest> = {}): CodeModeRequest {
  return testRequest(code, { language: "python", ...overrides });
}

/** A request for `code` with the test tools and limits; `overrides` replace fields. */
export function testRequest(code: string, overrides: Partial<CodeModeRequest> = {}): CodeModeRequest {
  return {
    code,
    language: "javascript",
    tools: TEST_TOOLS,
    limits: TEST_LIMITS,
    seed: 42,
    clockMs: Date.UTC(2025, 0, 1),
    invokeTool: testInvoker(),
    ...overrides,
  };
}
