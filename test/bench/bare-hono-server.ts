// The floor of an HTTP execution: a bare Hono JSON route on @hono/node-server, in its own process like the service.
import { spawn, type ChildProcess } from "node:child_process";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { serve } from "@hono/node-server";
import { Hono } from "hono";

export interface BareHono {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Spawns this file as a child process serving `POST /json` (echoes a small JSON body) and `GET /json`.
 * @example const bare = await startBareHono(); await fetch(bare.url + "/json"); await bare.stop()
 */
export async function startBareHono(): Promise<BareHono> {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    void exited.then(() => reject(new Error("bare Hono server exited before listening")));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

function main(): void {
  const app = new Hono();
  app.get("/json", (c) => c.json({ ok: true }));
  app.post("/json", async (c) => c.json({ ok: true, got: await c.req.json<unknown>() }));
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => {
    console.log(`http://127.0.0.1:${info.port}`);
  });
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
}

if (import.meta.main) main();
