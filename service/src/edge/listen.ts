// Serves the app on a socket: the one place the service touches @hono/node-server.
import { serve } from "@hono/node-server";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Hono } from "hono";
import type { AppEnv } from "./app-env.ts";

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
}

/**
 * Listens on `host:port` (`0` picks a free port) and resolves once the socket accepts connections.
 * @example const { server, url } = await listen(createApp(services), 8080, "127.0.0.1")
 */
export async function listen(app: Hono<AppEnv>, port: number, hostname: string): Promise<Listening> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, hostname }, () => resolve(s)) as Server;
    s.once("error", reject);
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Above the keep-alive timeout, as Node requires for a kept-alive socket's next request headers.
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return { server, url: `http://${host}:${addr.port}` };
}
