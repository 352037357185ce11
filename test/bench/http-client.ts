// A tiny keep-alive HTTP client on node:http for load generation: cheaper than fetch, and every request has a deadline.
import http from "node:http";

export interface HttpReply {
  status: number;
  text: string;
}

export interface HttpClient {
  /** Sends one request; rejects on a network error or after the client's timeout (never hangs). */
  request(method: string, path: string, body?: unknown): Promise<HttpReply>;
  /** Like request, but rejects unless the status is 2xx, and parses the body as JSON. */
  json<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  close(): void;
}

/**
 * A client for one base URL with up to `maxSockets` kept-alive connections.
 * @example const c = httpClient(svc.url, { maxSockets: 16 }); const run = await c.json("POST", "/v1/runs", { mode: "client" })
 */
export function httpClient(
  baseUrl: string,
  opts: { maxSockets?: number; timeoutMs?: number } = {},
): HttpClient {
  const base = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 16 });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const request = (method: string, path: string, body?: unknown): Promise<HttpReply> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method,
          path,
          headers: payload
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
            : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
          });
          res.on("error", (err) => {
            clearTimeout(timer);
            reject(err);
          });
        },
      );
      const timer = setTimeout(
        () =>
          req.destroy(new Error(`timeout: no answer to ${method} ${pathShape(path)} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(payload);
    });
  return {
    request,
    async json<T>(method: string, path: string, body?: unknown): Promise<T> {
      const r = await request(method, path, body);
      if (r.status < 200 || r.status >= 300) {
        throw new Error(`HTTP ${r.status} from ${method} ${pathShape(path)}: ${r.text.slice(0, 200)}`);
      }
      return JSON.parse(r.text) as T;
    },
    close() {
      agent.destroy();
    },
  };
}

/** The path without query and ids, so that failures group by route. */
function pathShape(path: string): string {
  return path.split("?")[0]!.replace(/\/(run|ex)_[A-Za-z0-9_-]+/g, "/{id}");
}
