// A unix-socket proxy in front of a Docker engine, to cut the service off its engine without touching the engine.
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface EngineProxy {
  /** Point the service (MEND_DOCKER_SOCKET / DockerRunner socketPath) here. */
  socketPath: string;
  /** Breaks every open connection and refuses new ones until restore(): the engine seems gone. */
  cut(): void;
  restore(): void;
  readonly isCut: boolean;
  close(): Promise<void>;
}

/**
 * Listens on a fresh unix socket and forwards each connection to `target` (the engine's socket).
 * @example const proxy = await startEngineProxy("/var/run/docker.sock"); proxy.cut(); proxy.restore();
 */
export async function startEngineProxy(target: string): Promise<EngineProxy> {
  const dir = mkdtempSync(join(tmpdir(), "mend-engine-proxy-"));
  const socketPath = join(dir, "docker.sock");
  const open = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = createConnection(target);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    get isCut() {
      return cut;
    },
    cut() {
      cut = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    restore() {
      cut = false;
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
