// Serves the app on a socket: the one place the service touches @hono/node-server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { getRequestListener } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import type { Hono } from "hono";
import type { AppEnv } from "./app-env.ts";

/** @hono/node-server's request listener: a Node request → the app's Response, written out. */
type Adapter = ReturnType<typeof getRequestListener>;

/**
 * How long an idle keep-alive connection stays open. Node's default (5 s) races a client's keep-alive
 * timer: a client starved of CPU for a moment reuses a socket the server has just closed ("other side
 * closed" on a request that never reached us). A minute, as load balancers do, makes that gap rare.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export interface Listening {
  server: Server;
  /** `http://host:port` as bound (IPv6 hosts in brackets). */
  url: string;
  /**
   * Loads the request adapter now if no request has yet (off the start path: once the service serves);
   * resolves once it is loaded, or failed to (a failure is the next request's to report). Idempotent.
   */
  warm(): Promise<void>;
}

/**
 * Listens on `host:port` (`0` picks a free port) and resolves once the socket accepts connections.
 *
 * The adapter (@hono/node-server's request listener) loads at the first request or at `warm()`, not before
 * listening: its import reads the global `Response`, which makes Node load its internal undici (~15 ms of
 * the main thread, ~40 ms of a start with its module), and it installs its own `Request`/`Response` globals.
 * A request that comes before it is loaded waits for it (connections are accepted meanwhile): a restarted
 * service listens that much sooner and answers its first request no later than when it loaded everything first.
 * @example const { server, url } = await listen(createApp(services), 8080, "127.0.0.1")
 */
export async function listen(app: Hono<AppEnv>, port: number, hostname: string): Promise<Listening> {
  let listener: Adapter | undefined;
  let loading: Promise<Adapter> | undefined;
  const load = () =>
    (loading ??= import("@hono/node-server").then(
      (m) => (listener = m.getRequestListener(app.fetch, { hostname })),
    ));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (listener) return void listener(req, res);
    void load().then(
      (l) => l(req, res),
      (err: unknown) => {
        // Never expected (the module is part of the install); the request must still get an answer.
        res.destroy(err as Error);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      resolve();
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Above the keep-alive timeout, as Node requires for a kept-alive socket's next request headers.
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    warm: () =>
      load().then(
        () => undefined,
        () => undefined,
      ),
  };
}
