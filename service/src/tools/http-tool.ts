// A registered HTTP tool as a ToolDefinition: JSON call with Idempotency-Key, timeout, retries, output check.
import { makeFailure } from "@mend/wire";
import { validateAgainstSchema } from "@mend/sandboxes";
import type { ToolCallContext, ToolDefinition, ToolResult } from "./tool.ts";
import { redactor } from "./redact.ts";
import { retry } from "../lib/retry.ts";
import { withTraceContext } from "./trace-headers.ts";
import { denialOf, networkDeniedFailure } from "./destination-guard.ts";

/** What the store keeps of an HTTP tool (`ToolRecord.spec`); header values live in the encrypted secret. */
export interface HttpToolSpec {
  kind: "http";
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  endpoint: string;
  method: "POST" | "PUT" | "PATCH" | "GET";
  headerNames: string[];
  timeoutMs: number;
  version: string;
  cache?: { ttlSeconds: number };
  idempotent: boolean;
}

export const DEFAULT_HTTP_TOOL_TIMEOUT_MS = 10_000;
const BODY_TAIL_BYTES = 2048;
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const DEFAULT_RETRIES = 2;
const DEFAULT_BACKOFF_MS = 100;

/**
 * Builds the definition the catalog serves. `headers` is called per invocation, so decrypted
 * credentials exist only for the duration of a call.
 * @example httpToolDefinition("crm.find", spec, async () => ({ authorization: "Bearer ..." }))
 */
export function httpToolDefinition(
  name: string,
  spec: HttpToolSpec,
  headers: () => Promise<Record<string, string>>,
): ToolDefinition {
  return {
    name,
    description: spec.description,
    inputSchema: spec.inputSchema,
    ...(spec.outputSchema ? { outputSchema: spec.outputSchema } : {}),
    version: spec.version,
    ...(spec.cache ? { cache: spec.cache } : {}),
    idempotent: spec.idempotent,
    invoke: async (args, ctx) => callHttpTool(name, spec, await headers(), args, ctx),
  };
}

type Attempt = { done: ToolResult } | { retry: ToolResult };

/** Calls the endpoint; retries connection errors and 5xx only when the tool is idempotent. */
export async function callHttpTool(
  name: string,
  spec: HttpToolSpec,
  secretHeaders: Record<string, string>,
  args: unknown,
  ctx: ToolCallContext,
): Promise<ToolResult> {
  const rule = ctx.policy?.remediation["tool_failed"];
  const retries = spec.idempotent ? (rule?.retries ?? DEFAULT_RETRIES) : 0;
  const backoffMs = rule?.backoffMs || DEFAULT_BACKOFF_MS;
  const redact = redactor(Object.values(secretHeaders));
  let exhausted = false;
  const r = await retry<ToolResult>(
    async () => {
      const a = await attemptOnce(name, spec, secretHeaders, args, ctx, redact);
      exhausted = !("done" in a);
      return "done" in a ? a : { retry: a.retry };
    },
    { attempts: retries + 1, backoff: { baseMs: backoffMs, jitter: "equal" } },
    ctx.signal,
  );
  if (r.aborted) return interrupted(name);
  if (exhausted && retries > 0 && !r.value.ok) r.value.failure.message += ` (after ${r.attempts} attempts)`;
  return r.value;
}

async function attemptOnce(
  name: string,
  spec: HttpToolSpec,
  secretHeaders: Record<string, string>,
  args: unknown,
  ctx: ToolCallContext,
  redact: (text: string) => string,
): Promise<Attempt> {
  if (ctx.signal?.aborted) return { done: interrupted(name) };
  if (!ctx.destinations)
    return { done: fail(name, `tool "${name}" cannot be called without the destination policy`, false) };
  const timeout = AbortSignal.timeout(spec.timeoutMs);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
  const url = new URL(spec.endpoint);
  if (spec.method === "GET") {
    for (const [k, v] of Object.entries((args ?? {}) as Record<string, unknown>)) {
      url.searchParams.set(k, typeof v === "string" ? v : JSON.stringify(v));
    }
  }
  let res: Response;
  let text: string;
  try {
    res = await ctx.destinations.fetch(ctx.policy)(url, {
      method: spec.method,
      redirect: "manual",
      signal,
      headers: withTraceContext({
        ...secretHeaders,
        accept: "application/json, text/plain;q=0.9, */*;q=0.5",
        "idempotency-key": ctx.idempotencyKey,
        ...(spec.method === "GET" ? {} : { "content-type": "application/json" }),
      }),
      ...(spec.method === "GET" ? {} : { body: JSON.stringify(args ?? {}) }),
    });
    text = await readCapped(res);
  } catch (e) {
    if (ctx.signal?.aborted) return { done: interrupted(name) };
    const denial = denialOf(e);
    if (denial) return { done: { ok: false, failure: networkDeniedFailure(denial, name) } };
    if (timeout.aborted) {
      return {
        done: {
          ok: false,
          failure: makeFailure(
            "tool_failed",
            `tool "${name}" did not answer within ${spec.timeoutMs} ms (${spec.method} ${url.origin}); it may be slow or down`,
            true,
            {
              tool: name,
              limits: { timeoutMs: spec.timeoutMs },
              remedy: { action: "retry", hint: "retry later, or ask the tool's owner to raise timeoutMs" },
            },
          ),
        },
      };
    }
    if (e instanceof ResponseTooLarge) {
      return { done: fail(name, `response of tool "${name}" is over ${MAX_RESPONSE_BYTES} bytes`, false) };
    }
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    return {
      retry: fail(name, `could not reach tool "${name}" at ${url.origin}: ${redact(String(why))}`, true),
    };
  }
  if (res.status < 200 || res.status > 299) {
    const tail = redact(tailOf(text));
    const redirect = res.status >= 300 && res.status < 400 ? " (redirects are not followed)" : "";
    const failure = makeFailure(
      "tool_failed",
      `tool "${name}" answered HTTP ${res.status}${redirect}${tail ? `: ${oneLine(tail).slice(-300)}` : ""}`,
      res.status >= 500 || res.status === 429,
      { tool: name, status: res.status, bodyTail: tail },
    );
    return res.status >= 500 ? { retry: { ok: false, failure } } : { done: { ok: false, failure } };
  }
  const value = parseBody(redact(text), res.headers.get("content-type"));
  if (!value.ok)
    return {
      done: fail(name, `tool "${name}" answered invalid JSON: ${value.error}`, false, {
        bodyTail: redact(tailOf(text)),
      }),
    };
  if (spec.outputSchema) {
    const errors = validateAgainstSchema(spec.outputSchema, value.value);
    if (errors.length > 0) {
      return {
        done: fail(
          name,
          `response of tool "${name}" does not match its outputSchema: ${errors.map((e) => `${e.path || "/"} ${e.message}`).join("; ")}`,
          false,
          { errors },
        ),
      };
    }
  }
  return { done: { ok: true, value: value.value } };
}

class ResponseTooLarge extends Error {}

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await res.body.cancel().catch(() => {});
      throw new ResponseTooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody(
  text: string,
  contentType: string | null,
): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text.trim() === "") return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    if (contentType?.includes("json")) return { ok: false, error: (e as Error).message };
    return { ok: true, value: text };
  }
}

function tailOf(text: string): string {
  const buf = Buffer.from(text);
  return buf.length <= BODY_TAIL_BYTES ? text : buf.subarray(buf.length - BODY_TAIL_BYTES).toString("utf8");
}

const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();

function fail(
  name: string,
  message: string,
  retryable: boolean,
  extra: Record<string, unknown> = {},
): ToolResult {
  return { ok: false, failure: makeFailure("tool_failed", message, retryable, { tool: name, ...extra }) };
}

function interrupted(name: string): ToolResult {
  return {
    ok: false,
    failure: makeFailure("interrupted", `call of tool "${name}" was interrupted`, true, { tool: name }),
  };
}
