import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "./app-env.ts";
import { listen, type Listening } from "./listen.ts";

// @hono/node-server replaces the global Response with its own (whose prototype is Node's) when its
// request listener is created: what tells whether the adapter has been loaded yet.
const adapterLoaded = () => Object.getPrototypeOf(globalThis.Response) !== Function.prototype;

const run = promisify(execFile);

function app(): Hono<AppEnv> {
  const a = new Hono<AppEnv>();
  a.get("/n/:n", (c) => c.json({ n: Number(c.req.param("n")) }));
  return a;
}

async function closed(l: Listening): Promise<void> {
  l.server.closeAllConnections();
  await new Promise((r) => l.server.close(r));
}

describe("listen", () => {
  // One process, one adapter: the order of these tests matters (the first sees it unloaded).
  it("listens before loading the adapter, and answers every request that comes before it is loaded", async () => {
    const l = await listen(app(), 0, "127.0.0.1");
    try {
      assert.equal(adapterLoaded(), false, "the adapter was loaded before the first request");
      const answers = await Promise.all(
        [1, 2, 3, 4, 5].map(async (n) => {
          const res = await fetch(`${l.url}/n/${n}`);
          return { status: res.status, body: await res.json() };
        }),
      );
      assert.deepEqual(
        answers,
        [1, 2, 3, 4, 5].map((n) => ({ status: 200, body: { n } })),
      );
      assert.equal(adapterLoaded(), true);
    } finally {
      await closed(l);
    }
  });

  it("warm() loads the adapter with no request (a process of its own: nothing loaded it before)", async () => {
    const script = `
      import { Hono } from "hono";
      import { listen } from ${JSON.stringify(new URL("./listen.ts", import.meta.url).href)};
      const loaded = () => Object.getPrototypeOf(globalThis.Response) !== Function.prototype;
      const l = await listen(new Hono(), 0, "127.0.0.1");
      const before = loaded();
      const warmed = l.warm();
      await l.warm(); // idempotent
      await warmed;
      console.log(JSON.stringify({ before, after: loaded() }));
      l.server.close();
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL(".", import.meta.url),
    });
    assert.deepEqual(JSON.parse(stdout), { before: false, after: true });
  });

  it("reports the bound address, IPv6 in brackets", async (t) => {
    const l4 = await listen(app(), 0, "127.0.0.1");
    await closed(l4);
    assert.match(l4.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const l6 = await listen(app(), 0, "::1").catch(() => null);
    if (!l6) return t.skip("no IPv6 loopback here");
    await closed(l6);
    assert.match(l6.url, /^http:\/\/\[::1\]:\d+$/);
  });
});
