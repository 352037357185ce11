// Serves the app on a socket: the one place the service touches @hono/node-server.
import { serve } from "@hono/node-server";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Hono } from "hono";
import type { AppEnv } from "./app-env.ts";

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
  // Idle kept-alive connections stay open 65 s (Node's default is 5 s): a client whose event loop was busy
  // longer than that reuses a socket the service had already closed, and its request fails with "other side
  // closed". Load balancers keep idle connections for 60 s; the service outlasts them, as is usual.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return { server, url: `http://${host}:${addr.port}` };
}
