// http.fetch: plain HTTP requests from scripts, only to hosts the caller's policy lists in http.allowHosts.
import { makeFailure } from "@mend/wire";
import { globMatch } from "../policy/glob.ts";
import type { Policy } from "../policy/policy-schema.ts";
import type { ToolDefinition, ToolResult } from "./tool.ts";
import { withTraceContext } from "./trace-headers.ts";
import { denialOf, networkDeniedFailure } from "./destination-guard.ts";

const TIMEOUT_MS = 30_000;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Whether the policy lets http.fetch reach `url`: an entry matches the host name or host:port, with
 * the policy globs (`*` one label, `**` several: "**.example.com").
 * @example hostAllowed(policy, new URL("https://api.example.com/x"))
 */
export function hostAllowed(policy: Policy, url: URL): boolean {
  return policy.http.allowHosts.some((p) => globMatch(p, url.hostname) || globMatch(p, url.host));
}

function denied(message: string, policy: Policy | undefined): ToolResult {
  return {
    ok: false,
    failure: makeFailure("network_denied", message, false, {
      tool: "http.fetch",
      rule: "http.allowHosts",
      limits: { allowHosts: policy?.http.allowHosts ?? [] },
      remedy: {
        action: "use_allowed_host",
        hint: "fetch an allowed host, use a registered tool, or ask for the host to be added to the policy",
      },
    }),
  };
}

/**
 * The http.fetch built-in. Redirects are returned, not followed, so each hop is checked against the
 * allowlist and, at connect time, against the destination policy (network.allow).
 */
export const httpFetchTool: ToolDefinition = {
  name: "http.fetch",
  description:
    "HTTP request to a host allowed by the policy (http.allowHosts). Returns { status, headers, body, truncated }; " +
    "non-2xx statuses are returned, not thrown; redirects are returned with their location header.",
  inputSchema: {
    type: "object",
    properties: {
      url: { type: "string", pattern: "^https?://", description: "Absolute http(s) URL" },
      method: {
        type: "string",
        enum: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        description: "GET by default",
      },
      headers: { type: "object", additionalProperties: { type: "string" }, description: "Request headers" },
      body: { type: "string", description: "Request body (text)" },
    },
    required: ["url"],
    additionalProperties: false,
  },
  version: "1",
  idempotent: false,
  async invoke(args, ctx) {
    const a = args as { url: string; method?: string; headers?: Record<string, string>; body?: string };
    const policy = ctx.policy;
    let url: URL;
    try {
      url = new URL(a.url);
    } catch {
      return {
        ok: false,
        failure: makeFailure("tool_input_invalid", `"${a.url}" is not a valid URL`, false, {
          tool: "http.fetch",
        }),
      };
    }
    if (!policy)
      return denied("http.fetch cannot check the caller's policy, so every request is denied", policy);
    if (policy.http.allowHosts.length === 0) {
      return denied(
        `http.fetch is off: policy "${policy.name}" allows no hosts (http.allowHosts is empty)`,
        policy,
      );
    }
    if (!hostAllowed(policy, url)) {
      return denied(
        `host "${url.host}" is not allowed by policy "${policy.name}"; allowed hosts: ${policy.http.allowHosts.join(", ")}`,
        policy,
      );
    }
    if (!ctx.destinations) return denied("http.fetch cannot apply the destination policy here", policy);
    const timeout = AbortSignal.timeout(TIMEOUT_MS);
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
    try {
      const method = a.method ?? "GET";
      // Checked again at connect time, after DNS: allowHosts names hosts, the destination policy addresses.
      const res = await ctx.destinations.fetch(policy)(url, {
        method,
        redirect: "manual",
        signal,
        headers: withTraceContext({ ...a.headers }),
        ...(a.body !== undefined && method !== "GET" && method !== "HEAD" ? { body: a.body } : {}),
      });
      const { text, truncated } = await readText(res);
      return {
        ok: true,
        value: { status: res.status, headers: Object.fromEntries(res.headers), body: text, truncated },
      };
    } catch (e) {
      const denial = denialOf(e);
      if (denial) return { ok: false, failure: networkDeniedFailure(denial, "http.fetch") };
      if (ctx.signal?.aborted) {
        return {
          ok: false,
          failure: makeFailure("interrupted", "http.fetch was interrupted", true, { tool: "http.fetch" }),
        };
      }
      const why = timeout.aborted
        ? `no answer within ${TIMEOUT_MS} ms`
        : String((e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message);
      return {
        ok: false,
        failure: makeFailure("tool_failed", `http.fetch ${url.origin} failed: ${why}`, true, {
          tool: "http.fetch",
        }),
      };
    }
  },
};

async function readText(res: Response): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: "", truncated: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size >= MAX_BODY_BYTES) {
      await res.body.cancel().catch(() => {});
      return { text: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString("utf8"), truncated: true };
    }
  }
  return { text: Buffer.concat(chunks).toString("utf8"), truncated: false };
}
