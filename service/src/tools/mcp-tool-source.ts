// MCP servers as a ToolSource: each server's tools become `<server>.<tool>` definitions calling callTool.
import { createHash } from "node:crypto";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { makeFailure } from "@mend/wire";
import type { Logger } from "../log/logger.ts";
import type { Policy } from "../policy/policy-schema.ts";
import { denialOf, type DestinationGuard } from "./destination-guard.ts";
import { McpConnection } from "./mcp-connection.ts";
import type { McpServerEntry } from "./mcp-server-config.ts";
import type { ToolSource } from "./tool-catalog.ts";
import type { ToolDefinition, ToolResult } from "./tool.ts";
import { checkToolSchema, type SchemaProblem } from "./schema-check.ts";

const CALL_TIMEOUT_MS = 60_000;
/** How long a listing reuses a destination decision about a server (the connect-time check still runs). */
const DECISION_TTL_MS = 5_000;

interface Held {
  fingerprint: string;
  conn: McpConnection;
  /** Definitions built for one tool list (rebuilt when the list object changes). */
  defs: { from: Tool[]; tools: ToolDefinition[] } | null;
  warned: boolean;
}

/**
 * Lists the MCP tools of a tenant. Connections open on first listing, are reused across calls, are
 * replaced when a server's configuration changes, and closed by `close`.
 * @example catalog.addSource(new McpToolSource((t) => registry.mcpServers(t), log))
 */
export class McpToolSource implements ToolSource {
  readonly #servers: (tenant: string) => Promise<McpServerEntry[]>;
  readonly #log: Logger;
  readonly #guard: DestinationGuard | undefined;
  readonly #held = new Map<string, Held>();
  /** Denials already logged, so a listing loop logs a refused server once. */
  readonly #deniedLogged = new Set<string>();
  readonly #decisions = new Map<string, { at: number; ok: boolean }>();
  #closed = false;

  /**
   * `guard`: the destination policy applied to tenant-registered HTTP servers, at listing and at connect
   * time (operator-configured servers from MEND_MCP_SERVERS are trusted like the rest of the config).
   */
  constructor(servers: (tenant: string) => Promise<McpServerEntry[]>, log: Logger, guard?: DestinationGuard) {
    this.#servers = servers;
    this.#log = log;
    this.#guard = guard;
  }

  async list(tenant: string, policy?: Policy): Promise<ToolDefinition[]> {
    if (this.#closed) return [];
    const servers = await this.#servers(tenant);
    const live = new Set(servers.map((s) => s.name));
    for (const [key, h] of this.#held) {
      if (key.startsWith(`${tenant}/`) && !live.has(key.slice(tenant.length + 1).split("\0")[0]!)) {
        this.#held.delete(key);
        void h.conn.close();
      }
    }
    const lists = await Promise.all(servers.map((s) => this.#toolsOf(tenant, s, policy)));
    return lists.flat();
  }

  /** Whether the caller's policy may reach the server; a refused one hides its tools from this policy only. */
  async #reachable(tenant: string, server: McpServerEntry, policy: Policy | undefined): Promise<boolean> {
    if (server.origin === "config" || server.spec.transport !== "http" || !server.spec.url) return true;
    if (!this.#guard) return false;
    // Listings happen on every tool lookup: a decision is reused briefly (connections are checked anyway).
    const memo = `${server.spec.url}\0${policy?.name ?? ""}\0${JSON.stringify(policy?.network.allow ?? [])}`;
    const known = this.#decisions.get(memo);
    if (known && Date.now() - known.at < DECISION_TTL_MS) return known.ok;
    const d = await this.#guard.check(new URL(server.spec.url), policy);
    if (this.#decisions.size > 1000) this.#decisions.clear();
    this.#decisions.set(memo, { at: Date.now(), ok: d.ok });
    if (d.ok) return true;
    const key = `${tenant}/${server.name}/${policy?.name ?? ""}/${server.fingerprint}`;
    if (!this.#deniedLogged.has(key)) {
      this.#deniedLogged.add(key);
      this.#log.warn(
        { tenant, server: server.name, policy: policy?.name, ...d.denial },
        "MCP server refused by the destination policy; its tools are hidden",
      );
    }
    return false;
  }

  /** Closes every connection (stdio servers are stopped). */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#held.values()];
    this.#held.clear();
    await Promise.allSettled(all.map((h) => h.conn.close()));
  }

  async #toolsOf(
    tenant: string,
    server: McpServerEntry,
    policy: Policy | undefined,
  ): Promise<ToolDefinition[]> {
    if (!(await this.#reachable(tenant, server, policy))) return [];
    const tenantServer = server.origin === "api" && server.spec.transport === "http";
    // One connection per rule set: its dispatcher applies those rules to every (re)connection.
    const rules = tenantServer ? JSON.stringify([policy?.name ?? "", policy?.network.allow ?? []]) : "";
    const key = `${tenant}/${server.name}\0${rules}`;
    let h = this.#held.get(key);
    if (!h || h.fingerprint !== server.fingerprint) {
      if (h) void h.conn.close();
      const fetchFn = tenantServer ? this.#guard?.fetch(policy) : undefined;
      h = {
        fingerprint: server.fingerprint,
        conn: new McpConnection(() => server.params(), this.#log, fetchFn),
        defs: null,
        warned: false,
      };
      this.#held.set(key, h);
    }
    const held = h;
    try {
      const tools = await held.conn.tools();
      held.warned = false;
      if (held.defs?.from !== tools) {
        const refused = (tool: string, problems: SchemaProblem[]) =>
          this.#log.warn(
            { tenant, server: server.name, tool, problems },
            "MCP tool refused: its schema is unusable",
          );
        held.defs = { from: tools, tools: toDefinitions(server.name, tools, held.conn, refused) };
      }
      return held.defs.tools;
    } catch (e) {
      if (!held.warned)
        this.#log.warn(
          { tenant, server: server.name, err: (e as Error).message, ...(denialOf(e) ?? {}) },
          "MCP server unavailable; its tools are hidden",
        );
      held.warned = true;
      return [];
    }
  }
}

/** Tool names become identifiers: `get-weather` → `get_weather` (code-mode calls `tools.<server>.get_weather`). */
export function mcpToolName(server: string, tool: string): string {
  const safe = tool.replace(/[^A-Za-z0-9_]/g, "_");
  return `${server}.${/^[A-Za-z_]/.test(safe) ? safe : `_${safe}`}`;
}

function toDefinitions(
  server: string,
  tools: Tool[],
  conn: McpConnection,
  refused: (tool: string, problems: SchemaProblem[]) => void,
): ToolDefinition[] {
  const seen = new Set<string>();
  const out: ToolDefinition[] = [];
  for (const t of tools) {
    const name = mcpToolName(server, t.name);
    if (seen.has(name)) continue;
    seen.add(name);
    // A schema the service cannot validate with (a pattern RE2 cannot run, a $ref) hides the tool.
    const problems = [
      ...checkToolSchema(t.inputSchema, "/inputSchema", false),
      ...(t.outputSchema ? checkToolSchema(t.outputSchema, "/outputSchema", false) : []),
    ];
    if (problems.length > 0) {
      refused(name, problems);
      continue;
    }
    out.push({
      name,
      description: t.description ?? t.title ?? t.annotations?.title ?? `MCP tool ${t.name} of ${server}`,
      inputSchema: t.inputSchema,
      ...(t.outputSchema ? { outputSchema: t.outputSchema } : {}),
      version: `mcp-${createHash("sha256")
        .update(JSON.stringify([t.name, t.inputSchema, t.outputSchema ?? null]))
        .digest("hex")
        .slice(0, 12)}`,
      idempotent: t.annotations?.idempotentHint ?? false,
      source: { kind: "mcp", server },
      invoke: async (args, ctx) => {
        try {
          const r = await conn.call(t.name, (args ?? {}) as Record<string, unknown>, {
            timeoutMs: CALL_TIMEOUT_MS,
            ...(ctx.signal ? { signal: ctx.signal } : {}),
          });
          return fromCallResult(name, r);
        } catch (e) {
          if (ctx.signal?.aborted) {
            return {
              ok: false,
              failure: makeFailure("interrupted", `call of tool "${name}" was interrupted`, true, {
                tool: name,
              }),
            };
          }
          const code = (e as { code?: unknown }).code;
          const timedOut = code === -32001;
          return {
            ok: false,
            failure: makeFailure(
              "tool_failed",
              timedOut
                ? `MCP tool "${name}" did not answer within ${CALL_TIMEOUT_MS} ms`
                : `MCP tool "${name}" could not be called: ${(e as Error).message}`,
              timedOut || typeof code !== "number" || code === -32000,
              { tool: name, ...(timedOut ? { limits: { timeoutMs: CALL_TIMEOUT_MS } } : {}) },
            ),
          };
        }
      },
    });
  }
  return out;
}

/**
 * The value a script sees: structuredContent when the tool gives one; otherwise its text (parsed when it
 * is JSON); otherwise the raw content list. isError results become tool_failed with the text.
 */
export function fromCallResult(name: string, r: CallToolResult): ToolResult {
  const content = Array.isArray(r.content) ? r.content : [];
  const texts = content.filter((c) => c.type === "text").map((c) => (c as { text: string }).text);
  if (r.isError) {
    const text = texts.join("\n").trim() || "the tool reported an error without text";
    return {
      ok: false,
      failure: makeFailure("tool_failed", `MCP tool "${name}" failed: ${text.slice(0, 2000)}`, false, {
        tool: name,
        bodyTail: text.slice(-2048),
      }),
    };
  }
  if (r.structuredContent !== undefined) return { ok: true, value: r.structuredContent };
  if (content.length > 0 && texts.length === content.length) {
    const text = texts.join("\n");
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch {
      return { ok: true, value: text };
    }
  }
  return { ok: true, value: content };
}
