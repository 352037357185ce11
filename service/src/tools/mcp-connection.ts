// One lazily opened, cached MCP client session (official SDK) to a server, with its tool list.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../log/logger.ts";
import { VERSION } from "../version.ts";
import type { McpServerParams } from "./mcp-server-config.ts";
import { redactor } from "./redact.ts";
import { denialOf } from "./destination-guard.ts";

const CONNECT_TIMEOUT_MS = 15_000;
/** After a failed connection, calls fail fast for this long instead of reconnecting each time. */
const RETRY_AFTER_MS = 3_000;
const STDERR_TAIL_CHARS = 2048;

/**
 * The SDK's client side, loaded at the first connection: ~100 ms of module loading (ajv, cross-spawn)
 * that a service with no MCP server configured never needs, and one that has does not need to start.
 */
const loadSdk = () =>
  Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/stdio.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
  ]).then(([c, s, h]) => ({
    Client: c.Client,
    StdioClientTransport: s.StdioClientTransport,
    StreamableHTTPClientTransport: h.StreamableHTTPClientTransport,
  }));
let sdk: ReturnType<typeof loadSdk> | undefined;

interface Session {
  client: Client;
  tools: Tool[];
}

/**
 * A connection opened on first use and kept until `close` (or until the transport drops; the next use
 * reconnects). Concurrent first uses share one connection attempt.
 * @example const c = new McpConnection(() => params, log); const tools = await c.tools(); await c.call("add", { a: 1 })
 */
export class McpConnection {
  readonly #params: () => Promise<McpServerParams>;
  readonly #log: Logger;
  readonly #fetch: typeof fetch | undefined;
  #session: Promise<Session> | null = null;
  #current: Session | null = null;
  #failedAt = 0;
  #lastError: Error | null = null;
  #closed = false;
  #stderrTail = "";

  /** `fetch`: what HTTP transports use (the destination guard's, for tenant servers). */
  constructor(params: () => Promise<McpServerParams>, log: Logger, fetchFn?: typeof fetch) {
    this.#params = params;
    this.#log = log;
    this.#fetch = fetchFn;
  }

  /** The server's tools (listed once per session; refreshed when the server says the list changed). */
  async tools(): Promise<Tool[]> {
    return (await this.#open()).tools;
  }

  /** Calls a tool; throws when the session cannot be used (the caller maps that to a failure value). */
  async call(
    name: string,
    args: Record<string, unknown>,
    opts: { signal?: AbortSignal; timeoutMs: number },
  ): Promise<CallToolResult> {
    const session = await this.#open();
    try {
      return (await session.client.callTool({ name, arguments: args }, undefined, {
        timeout: opts.timeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      })) as CallToolResult;
    } catch (e) {
      // A transport error means the session is gone: reconnect on next use.
      if (!isProtocolError(e)) this.#drop(session);
      throw e;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const s = this.#session;
    this.#session = null;
    this.#current = null;
    if (s) await s.then((x) => x.client.close()).catch(() => {});
  }

  #open(): Promise<Session> {
    if (this.#closed) return Promise.reject(new Error("the MCP connection was closed"));
    if (this.#session) return this.#session;
    if (this.#lastError && Date.now() - this.#failedAt < RETRY_AFTER_MS)
      return Promise.reject(this.#lastError);
    const p = this.#connect();
    this.#session = p;
    p.then(
      (s) => {
        this.#lastError = null;
        if (this.#session === p) this.#current = s;
      },
      (e: unknown) => {
        if (this.#session === p) this.#session = null;
        this.#failedAt = Date.now();
        this.#lastError = e as Error;
      },
    );
    return p;
  }

  async #connect(): Promise<Session> {
    const params = await this.#params();
    const { Client, StdioClientTransport, StreamableHTTPClientTransport } = await (sdk ??= loadSdk());
    const redact = redactor(
      params.transport === "http" ? Object.values(params.headers) : Object.values(params.env),
    );
    let session: Session | undefined;
    const client = new Client(
      { name: "mend", version: VERSION },
      {
        listChanged: {
          tools: {
            onChanged: (err, tools) => {
              if (!err && tools && session) session.tools = tools;
            },
          },
        },
      },
    );
    const transport =
      params.transport === "http"
        ? new StreamableHTTPClientTransport(new URL(params.url), {
            requestInit: { headers: params.headers },
            ...(this.#fetch ? { fetch: this.#fetch } : {}),
          })
        : new StdioClientTransport({
            command: params.command,
            args: params.args,
            env: params.env,
            stderr: "pipe",
          });
    if (transport instanceof StdioClientTransport) {
      transport.stderr?.on("data", (d: Buffer) => {
        this.#stderrTail = (this.#stderrTail + d.toString()).slice(-STDERR_TAIL_CHARS);
      });
    }
    client.onclose = () => {
      if (session) this.#drop(session);
    };
    try {
      await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
      const tools: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: CONNECT_TIMEOUT_MS });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor && tools.length < 10_000);
      session = { client, tools };
      this.#log.info(
        { server: params.name, transport: params.transport, tools: tools.length },
        "MCP server connected",
      );
      return session;
    } catch (e) {
      await client.close().catch(() => {});
      const where = params.transport === "http" ? new URL(params.url).origin : params.command;
      const stderr = this.#stderrTail.trim()
        ? `; stderr: ${redact(this.#stderrTail.trim()).slice(-500)}`
        : "";
      // A refusal by the destination policy says which rule refused, not the SDK's "fetch failed".
      const why = denialOf(e)?.message ?? redact((e as Error).message);
      throw new Error(`MCP server "${params.name}" (${where}) is unavailable: ${why}${stderr}`, {
        cause: e,
      });
    }
  }

  #drop(session: Session): void {
    if (this.#current === session) {
      this.#current = null;
      this.#session = null;
    }
    void session.client.close().catch(() => {});
  }
}

function isProtocolError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  // JSON-RPC errors the server answered with (it is alive); -32000 (connection closed) and -32001 (timeout) are not.
  return typeof code === "number" && code !== -32000 && code !== -32001;
}
