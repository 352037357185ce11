// A loopback HTTP proxy that injects transient faults in front of the service: 503s, or responses dropped after forwarding.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What to do with one request: forward it, answer 503 without forwarding, or forward and then drop the response. */
export type FaultAction = "forward" | "503" | "429" | "drop-after-forward" | "cut-after-first-chunk";

export interface FaultProxy {
  url: string;
  /** Every request seen, as "METHOD /path", with the action taken. */
  seen: { line: string; action: FaultAction; headers: IncomingMessage["headers"] }[];
  close(): Promise<void>;
}

/**
 * Starts a proxy to `target`; `decide` picks the fault for each request (called in arrival order).
 * @example const p = await startFaultProxy(svc.url, (req, n) => (n <= 2 ? "503" : "forward"))
 */
export async function startFaultProxy(
  target: string,
  decide: (req: IncomingMessage, n: number) => FaultAction,
): Promise<FaultProxy> {
  const upstream = new URL(target);
  const seen: FaultProxy["seen"] = [];
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const action = decide(req, ++n);
    seen.push({ line: `${req.method} ${req.url}`, action, headers: req.headers });
    if (action === "503" || action === "429") {
      req.resume();
      const status = Number(action);
      res.writeHead(status, { "content-type": "application/problem+json", "retry-after": "0" });
      res.end(
        JSON.stringify({
          type: "urn:mend:problem:unavailable",
          title: "Injected",
          status,
          detail: "injected by the test proxy",
        }),
      );
      return;
    }
    const fwd = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        if (action === "drop-after-forward") {
          // The service did the work; the caller never hears of it.
          up.resume();
          up.on("end", () => res.socket?.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (action === "cut-after-first-chunk") {
          // A proxy that loses the connection mid-stream (after the first bytes reached the caller).
          up.once("data", (chunk: Buffer) => {
            res.write(chunk, () => setImmediate(() => res.socket?.destroy()));
            up.destroy();
          });
          return;
        }
        up.pipe(res);
      },
    );
    fwd.on("error", () => res.socket?.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
