// Client-hosted tools for code-mode: the script runs in the service, its tool calls are relayed to this process.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { loadConfig } from "../../service/src/config/config.ts";
import { createLogger } from "../../service/src/log/logger.ts";
import { createServices } from "../../service/src/services/services.ts";
import { createApp } from "../../service/src/edge/app.ts";
import { Mend, MendApiError, MendFailure } from "../../client/src/index.ts";

let services: Awaited<ReturnType<typeof createServices>>;
let server: ServerType;
let mend: Mend;
/** The relay needs the executor's extraTools hook (proposed in the report); skip until it exists. */

before(async () => {
  const config = loadConfig({
    MEND_DATA_DIR: mkdtempSync(join(tmpdir(), "mend-relay-")),
    MEND_LOG_LEVEL: "silent",
  });
  services = await createServices(config, createLogger("silent"), { containers: false });
  const app = createApp(services);
  server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  mend = new Mend({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await services.dispose();
});

describe("mend.codemode.run with client-hosted tools", () => {
  it("refuses a client tool that would shadow a service tool", async () => {
    await assert.rejects(
      mend.codemode.run("return 1", { tools: { echo: () => 1 } }),
      (e: unknown) => e instanceof MendApiError && e.status === 400 && /shadow/.test(e.detail),
    );
  });

  it("relays the tool calls of a Python script too", async () => {
    const value = await mend.codemode.run(
      "hits = []\nfor q in ['mend', 'durable']:\n    hits += tools.search(q=q)['hits']\nhits",
      {
        language: "python",
        tools: {
          search: {
            description: "Searches the client's private index",
            inputSchema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
            handler: async (args) => ({ hits: [`${(args as { q: string }).q}-1`] }),
          },
        },
      },
    );
    assert.deepEqual(value, ["mend-1", "durable-1"]);
  });

  it("relays each tool call to this process and returns the script's value", async () => {
    const queries: unknown[] = [];
    const value = await mend.codemode.run(
      "const a = await tools.search({ q: 'mend' }); const b = await tools.search({ q: 'durable' }); return [...a.hits, ...b.hits];",
      {
        tools: {
          search: {
            description: "Searches the client's private index",
            inputSchema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
            handler: async (args) => {
              queries.push(args);
              return { hits: [`${(args as { q: string }).q}-1`] };
            },
          },
        },
      },
    );
    assert.deepEqual(value, ["mend-1", "durable-1"]);
    assert.deepEqual(queries, [{ q: "mend" }, { q: "durable" }]);
  });

  it("turns a throwing client tool into a tool_failed the script sees, and a MendFailure when uncaught", async () => {
    const caught = await mend.codemode.run(
      "try { await tools.flaky({}) } catch (e) { return 'caught: ' + e.message }",
      {
        tools: { flaky: () => Promise.reject(new Error("index offline")) },
      },
    );
    assert.match(String(caught), /caught: .*index offline/);
    await assert.rejects(
      mend.codemode.run("return await tools.flaky({})", {
        tools: { flaky: () => Promise.reject(new Error("index offline")) },
      }),
      (e: unknown) => e instanceof MendFailure,
    );
  });

  it("journals relayed calls as a step of a run, replayed without calling the client again", async () => {
    const run = await mend.runs.open(`relay-${Date.now()}`);
    let calls = 0;
    const opts = { runId: run.id, key: "lookup", tools: { lookup: () => ({ n: ++calls }) } };
    const first = await mend.codemode.execute("return (await tools.lookup({})).n", opts);
    const second = await mend.codemode.execute("return (await tools.lookup({})).n", opts);
    assert.equal(first.result, 1);
    assert.equal(second.result, 1);
    assert.equal(second.replayed, true);
    assert.equal(calls, 1);
    const steps = await run.steps();
    assert.equal(steps.length, 1);
    assert.equal(steps[0]!.kind, "codemode");
  });
});
