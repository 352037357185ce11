// A free TCP port on loopback, for peers (Restate, PostgreSQL) that must be told their port up front.
import { createServer } from "node:net";

/**
 * Asks the kernel for a free port on 127.0.0.1 and releases it (a tiny race the peers' start-up tolerates).
 * @example const port = await freePort()
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
