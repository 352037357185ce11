// The engine watch against the real Docker engine: it pings an idle engine seldom and a busy or lost one
// often, and an engine that stops answering while a job runs is known as down.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import Docker from "dockerode";
import { EngineWatch } from "./engine-watch.ts";

/** The machine's engine, its pings counted (the engine answers them). */
function countedEngine(socketPath = "/var/run/docker.sock"): { docker: Docker; pings: () => number } {
  const docker = new Docker({ socketPath });
  const ping = docker.ping.bind(docker) as (o: object) => Promise<unknown>;
  let n = 0;
  (docker as unknown as { ping: (o: object) => Promise<unknown> }).ping = (o) => {
    n++;
    return ping(o);
  };
  return { docker, pings: () => n };
}

/** A unix-socket proxy to the engine that can stop answering without closing anything (a hung engine). */
async function hangableEngine() {
  const dir = mkdtempSync(join(tmpdir(), "mend-watch-"));
  const socketPath = join(dir, "docker.sock");
  const open = new Set<Socket>();
  let hung = false;
  const server = createServer((client) => {
    const upstream = createConnection("/var/run/docker.sock");
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("error", () => undefined);
      s.on("close", () => open.delete(s));
    }
    client.on("data", (d: Buffer) => {
      if (!hung) upstream.write(d); // hung: requests go nowhere, no connection breaks
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    hang: () => (hung = true),
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

void describe("EngineWatch", () => {
  void test("chooses the slow interval for an idle engine and the fast one while a job runs", async () => {
    const { docker } = countedEngine();
    const watch = new EngineWatch(docker, { pingMs: 500, idlePingMs: 5000 });
    try {
      assert.equal(watch.pingIntervalMs, 500, "a watch that has not reached its engine yet pings fast");
      await watch.start();
      assert.equal(watch.state, "up");
      assert.equal(watch.pingIntervalMs, 5000);
      const first = watch.busy();
      const second = watch.busy();
      assert.equal(watch.pingIntervalMs, 500);
      first();
      first(); // a second call changes nothing
      assert.equal(watch.pingIntervalMs, 500, "one job still runs");
      second();
      assert.equal(watch.pingIntervalMs, 5000);
    } finally {
      await watch.dispose();
    }
  });

  void test("pings an idle engine seldom and, from a job's start on, often", async () => {
    const { docker, pings } = countedEngine();
    // Intervals 20× apart, so generous bounds tell them apart on a loaded machine.
    const watch = new EngineWatch(docker, { pingMs: 100, idlePingMs: 2000 });
    try {
      await watch.start();
      const atStart = pings();
      await delay(1500);
      const idle = pings() - atStart;
      assert.ok(idle <= 1, `${idle} pings of an idle engine in 1.5 s`);
      const done = watch.busy();
      const atBusy = pings();
      await delay(1500);
      const busy = pings() - atBusy;
      done();
      assert.ok(busy >= 4, `${busy} pings of a busy engine in 1.5 s`);
    } finally {
      await watch.dispose();
    }
  });

  void test("knows an engine that stopped answering while a job runs as down", async () => {
    const proxy = await hangableEngine();
    const watch = new EngineWatch(new Docker({ socketPath: proxy.socketPath }), {
      pingMs: 100,
      idlePingMs: 3_600_000, // idle, it would not ask again within the test
      pingTimeoutMs: 500,
    });
    try {
      await watch.start();
      assert.equal(watch.state, "up");
      const done = watch.busy();
      proxy.hang();
      const deadline = Date.now() + 60_000;
      while (watch.state === "up" && Date.now() < deadline) await delay(50);
      done();
      assert.equal(watch.state, "down");
      assert.equal(watch.pingIntervalMs, 100, "a down engine is pinged fast until it answers");
    } finally {
      await watch.dispose();
      await proxy.close();
    }
  });
});
