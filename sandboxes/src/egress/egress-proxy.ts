// The egress proxy of one container job: HTTP CONNECT and plain HTTP proxying, allowlisted and journaled.
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { normalizeHost, type EgressCheck } from "./egress-check.ts";

/** One connection attempt, as journaled in the step's `usage.egress`. */
export interface EgressRecord {
  host: string;
  port: number;
  allowed: boolean;
  /** Bytes received from the destination. */
  bytesIn: number;
  /** Bytes sent to the destination. */
  bytesOut: number;
  /** Why it was refused, or why the allowed connection failed. */
  reason?: string;
}

export interface EgressJournal {
  records: EgressRecord[];
  /** Attempts past `maxRecords`, counted but not listed. */
  omitted: number;
}

export interface EgressProxyOptions {
  /** Address to listen on: the job network's gateway (only the container can reach it). */
  listenHost: string;
  check: EgressCheck;
  /** Accept connections only from this source address (the container's); default any. */
  allowSource?: (address: string) => boolean;
  /** Journal bound; default 100. */
  maxRecords?: number;
  /** Concurrent upstream connections; beyond it an attempt is refused (503). Default 32. */
  maxConnections?: number;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * A forward proxy for one job. Every attempt is journaled; a refusal answers 403 with the reason.
 * @example
 * const proxy = await EgressProxy.listen({ listenHost: "172.18.0.1", check: allowlistCheck(["127.0.0.1:8080"]) });
 * // container env: HTTP_PROXY=http://172.18.0.1:<proxy.port>
 * const journal = await proxy.close();
 */
export class EgressProxy {
  readonly #server: Server;
  readonly #opts: EgressProxyOptions;
  readonly #journal: EgressJournal = { records: [], omitted: 0 };
  readonly #sockets = new Set<Duplex>();
  readonly #open = new Set<() => void>();
  #upstreams = 0;
  #port = 0;

  private constructor(opts: EgressProxyOptions) {
    this.#opts = opts;
    this.#server = createServer({ requestTimeout: 0, headersTimeout: 30_000, maxHeaderSize: 16 * 1024 });
    // the container's connections to the proxy itself (each may carry several plain requests)
    this.#server.maxConnections = 256;
    this.#server.on("connection", (s: Socket) => {
      if (opts.allowSource && !opts.allowSource(s.remoteAddress ?? "")) {
        s.destroy();
        return;
      }
      this.#sockets.add(s);
      s.on("close", () => this.#sockets.delete(s));
    });
    this.#server.on("connect", (req: IncomingMessage, client: Duplex, head: Buffer) => {
      this.#tunnel(req, client, head).catch(() => client.destroy());
    });
    this.#server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      this.#forward(req, res).catch(() => res.destroy());
    });
    this.#server.on("clientError", (_err, s: Duplex) => {
      if (s.writable) s.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else s.destroy();
    });
  }

  /** Starts a proxy on `listenHost` (an ephemeral port). */
  static async listen(opts: EgressProxyOptions): Promise<EgressProxy> {
    const p = new EgressProxy(opts);
    await new Promise<void>((resolve, reject) => {
      p.#server.once("error", reject);
      p.#server.listen(0, opts.listenHost, () => {
        p.#server.off("error", reject);
        resolve();
      });
    });
    const addr = p.#server.address();
    p.#port = typeof addr === "object" && addr !== null ? addr.port : 0;
    return p;
  }

  get port(): number {
    return this.#port;
  }

  /** The journal so far (records are final once their connection closed). */
  get journal(): EgressJournal {
    return this.#journal;
  }

  /** Stops listening, cuts every connection and returns the journal (open connections' bytes so far). */
  async close(): Promise<EgressJournal> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const settle of this.#open) settle();
    for (const s of this.#sockets) s.destroy();
    this.#server.closeAllConnections();
    await closed;
    return this.#journal;
  }

  #record(r: EgressRecord): EgressRecord {
    const max = this.#opts.maxRecords ?? 100;
    if (this.#journal.records.length < max) this.#journal.records.push(r);
    else this.#journal.omitted++;
    return r;
  }

  async #decide(host: string, port: number): Promise<{ record: EgressRecord; address?: string }> {
    const h = normalizeHost(host);
    const record = this.#record({ host: h, port, allowed: false, bytesIn: 0, bytesOut: 0 });
    if (this.#upstreams >= (this.#opts.maxConnections ?? 32)) {
      record.reason = "too many connections at once";
      return { record };
    }
    let verdict;
    try {
      verdict = await this.#opts.check(h, port);
    } catch (err) {
      verdict = { denied: `check failed: ${(err as Error).message}` };
    }
    if ("denied" in verdict) {
      record.reason = verdict.denied;
      return { record };
    }
    record.allowed = true;
    return { record, address: verdict.address };
  }

  /** Tracks an upstream socket: counts its bytes into the record when it closes or the proxy stops. */
  #track(up: Socket, record: EgressRecord): void {
    this.#upstreams++;
    const settle = (): void => {
      if (!this.#open.delete(settle)) return;
      this.#upstreams--;
      record.bytesIn = up.bytesRead;
      record.bytesOut = up.bytesWritten;
      up.destroy();
    };
    this.#open.add(settle);
    up.on("close", settle);
  }

  async #tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    client.on("error", () => undefined);
    const target = parseAuthority(req.url ?? "");
    if (target === undefined) {
      client.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nCONNECT needs host:port\n");
      return;
    }
    const { record, address } = await this.#decide(target.host, target.port);
    if (address === undefined) {
      const status =
        record.reason === "too many connections at once" ? "503 Service Unavailable" : "403 Forbidden";
      client.end(
        `HTTP/1.1 ${status}\r\nConnection: close\r\nX-Mend-Egress: denied\r\n\r\nmend egress: ${record.reason}\n`,
      );
      return;
    }
    const up = connect({ host: address, port: target.port });
    this.#track(up, record);
    let connected = false;
    up.on("error", (err) => {
      record.reason ??= `connect failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`;
      if (!connected && client.writable) client.end("HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n");
      else client.destroy();
    });
    up.once("connect", () => {
      connected = true;
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) up.write(head);
      client.pipe(up);
      up.pipe(client);
    });
    client.on("close", () => up.destroy());
  }

  async #forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.on("error", () => undefined);
    res.on("error", () => undefined);
    let url: URL | undefined;
    try {
      url = new URL(req.url ?? "");
    } catch {
      url = undefined;
    }
    if (url?.protocol !== "http:") {
      res
        .writeHead(400, { "content-type": "text/plain" })
        .end("mend egress: proxy requests need an absolute http:// URL (use CONNECT for https)\n");
      return;
    }
    const port = url.port === "" ? 80 : Number(url.port);
    const { record, address } = await this.#decide(url.hostname, port);
    if (address === undefined) {
      const status = record.reason === "too many connections at once" ? 503 : 403;
      res
        .writeHead(status, { "content-type": "text/plain", "x-mend-egress": "denied" })
        .end(`mend egress: ${record.reason}\n`);
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    headers.host = url.host;
    headers.connection = "close";
    const upReq = httpRequest({
      host: address,
      port,
      method: req.method,
      path: `${url.pathname}${url.search}`,
      headers,
      agent: false,
    });
    upReq.on("socket", (s) => this.#track(s, record));
    upReq.on("error", (err) => {
      record.reason ??= `upstream failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`;
      if (!res.headersSent)
        res.writeHead(502, { "content-type": "text/plain" }).end("mend egress: upstream failed\n");
      else res.destroy();
    });
    upReq.on("response", (upRes) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(upRes.headers))
        if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(upRes.statusCode ?? 502, out);
      upRes.pipe(res);
    });
    req.pipe(upReq);
  }
}

/** Parses a CONNECT authority `host:port` / `[v6]:port`. */
function parseAuthority(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s/]+)):(\d{1,5})$/.exec(s);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: normalizeHost(m[1] ?? m[2] ?? ""), port };
}
