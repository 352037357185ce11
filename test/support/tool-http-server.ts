// A loopback HTTP server that plays registered tools in end-to-end tests: counts and records every call.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ToolCall {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** 1-based count of calls to this path, this one included. */
  n: number;
}

/** Answers one call: return a status and JSON value, or "hang" to never answer. */
export type ToolHandler = (call: ToolCall) => { status: number; json?: unknown; text?: string } | "hang";

export interface ToolHttpServer {
  url: string;
  calls: ToolCall[];
  count(path: string): number;
  close(): Promise<void>;
}

/**
 * Starts the server on 127.0.0.1 with one handler per path (404 otherwise).
 * @example const srv = await startToolHttpServer({ "/sum": ({ body }) => ({ status: 200, json: body }) })
 */
export async function startToolHttpServer(handlers: Record<string, ToolHandler>): Promise<ToolHttpServer> {
  const calls: ToolCall[] = [];
  const count = (path: string) => calls.filter((c) => c.path === path).length;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.on("data", (d: Buffer) => (raw += d.toString()));
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : null;
      } catch {
        /* keep the text */
      }
      const call = { path, headers: req.headers, body, n: count(path) + 1 };
      calls.push(call);
      const handler = handlers[path];
      if (!handler)
        return res.writeHead(404, { "content-type": "application/json" }).end('{"error":"no such tool"}');
      const out = handler(call);
      if (out === "hang") return;
      if (out.text !== undefined)
        return res.writeHead(out.status, { "content-type": "text/plain" }).end(out.text);
      res.writeHead(out.status, { "content-type": "application/json" }).end(JSON.stringify(out.json ?? null));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
