// What a tool is to the service: a name, a JSON Schema, cache rules, and a host-side implementation.
import type { Failure } from "@mend/wire";
import type { Policy } from "../policy/policy-schema.ts";
import type { DestinationGuard } from "./destination-guard.ts";

/** Context of one tool call: who calls it and the key that makes the call idempotent downstream. */
export interface ToolCallContext {
  tenant: string;
  runId: string;
  /** `run/step/seq`: stable across retries and replays of the same call. */
  idempotencyKey: string;
  signal?: AbortSignal;
  /** The caller's policy (set by ToolCaller): http.fetch reads its host allowlist, HTTP tools their retry rule. */
  policy?: Policy;
  /** The destination policy's dispatcher (set by ToolCaller); tools that make requests refuse to without it. */
  destinations?: DestinationGuard;
}

export type ToolResult = { ok: true; value: unknown } | { ok: false; failure: Failure };

export interface ToolDefinition {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  version: string;
  /** Deterministic tools may be cached across runs; the policy's cache rule wins over this default. */
  cache?: { ttlSeconds: number };
  idempotent?: boolean;
  /** Where the tool comes from; absent for built-ins. */
  source?: { kind: "http" } | { kind: "mcp"; server: string };
  invoke(args: unknown, ctx: ToolCallContext): Promise<ToolResult>;
}
