// The floor of an HTTP execution: a bare Hono JSON route on @hono/node-server, in its own process like the service;
// with `engine`, also POST /codemode running the script on Mend's own QuickJS engine (no journal, no policy, no cache).
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { QuickJsEngine } from "../../sandboxes/src/codemode/quickjs/quickjs-engine.ts";
import { TEST_LIMITS, TEST_TOOLS } from "../../sandboxes/src/testing/codemode-fixtures.ts";
import { startChildServer, type ChildServer } from "./child-server.ts";

export type BareHono = ChildServer;

/**
 * Spawns this file as a child process serving `POST /json` (echoes a small JSON body) and `GET /json`; with
 * `engine: true` also `POST /codemode` `{ code }` → `{ status, result }`: the script on a QuickJsEngine with the
 * service's default 2 workers, its echo/sleep tools answered in this process.
 * @example const bare = await startBareHono(); await fetch(bare.url + "/json"); await bare.stop()
 */
export function startBareHono(opts: { engine?: boolean } = {}): Promise<BareHono> {
  return startChildServer(
    new URL(import.meta.url).pathname,
    opts.engine ? ["--engine"] : [],
    "bare Hono server",
  );
}

async function main(): Promise<void> {
  const app = new Hono();
  app.get("/json", (c) => c.json({ ok: true }));
  app.post("/json", async (c) => c.json({ ok: true, got: await c.req.json<unknown>() }));
  if (process.argv.includes("--engine")) {
    const engine = new QuickJsEngine({ workers: 2 });
    await engine.ready();
    const limits = { ...TEST_LIMITS, timeoutMs: 30_000 };
    app.post("/codemode", async (c) => {
      const { code } = await c.req.json<{ code: string }>();
      const outcome = await engine.execute({
        code,
        language: "javascript",
        tools: TEST_TOOLS,
        limits,
        seed: 1,
        clockMs: Date.now(),
        invokeTool: async ({ tool, args }) => {
          if (tool === "sleep") {
            const ms = (args as { ms: number }).ms;
            await new Promise((resolve) => setTimeout(resolve, ms));
            return { ok: true, value: { sleptMs: ms } };
          }
          return { ok: true, value: args };
        },
      });
      return c.json(
        outcome.status === "succeeded"
          ? { status: outcome.status, result: outcome.result }
          : { status: outcome.status, failure: outcome.failure },
      );
    });
  }
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => {
    console.log(`http://127.0.0.1:${info.port}`);
  });
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
}

if (import.meta.main) await main();
