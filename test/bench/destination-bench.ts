// The destination policy's cost: the decision alone, and an HTTP request through the guarded dispatcher
// beside a plain undici Agent, on a new connection each time (where the check runs) and on a kept one.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, fetch as undiciFetch } from "undici";
import { checkDestination, compileRules, systemResolver } from "@mend/sandboxes";
import { DestinationGuard } from "../../service/src/tools/destination-guard.ts";
import { summarize, type Row } from "./stats.ts";

const ROUNDS = 3;
const PER_ROUND = 400;
const DECISIONS = 20_000;

async function loopbackServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    // /close answers with Connection: close, so the client opens a new connection for the next request.
    const close = req.url === "/close";
    res.writeHead(200, { "content-type": "application/json", ...(close ? { connection: "close" } : {}) });
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * Rows: decision alone (IP literal, hosts-mapped name), then plain vs guarded requests, interleaved rounds.
 * @example const rows = await benchDestinations()
 */
export async function benchDestinations(): Promise<Row[]> {
  const rows: Row[] = [];
  const policy = { rules: compileRules(["10.1.0.0/16", "api.internal"]), allowLoopback: true };
  const resolve = systemResolver(new Map([["app.test", ["127.0.0.1"]]]));
  for (const [label, host] of [
    ["IP literal", "127.0.0.1"],
    ["name from the hosts map", "app.test"],
  ] as const) {
    const samples: number[] = [];
    let failures = 0;
    for (let i = 0; i < DECISIONS; i++) {
      const t0 = performance.now();
      const d = await checkDestination({ host, port: 80 }, policy, resolve);
      samples.push(performance.now() - t0);
      if (!d.ok) failures++;
    }
    rows.push(summarize(`decision alone (${label})`, samples, { failures }));
  }

  const { url, server } = await loopbackServer();
  const plain = new Agent();
  const guard = new DestinationGuard({ allowLoopback: true });
  const guarded = guard.fetch(undefined);
  const plainFetch = (u: string) => undiciFetch(u, { dispatcher: plain });
  const variants = [
    { name: "new connection per request: plain undici Agent", path: "/close", f: plainFetch },
    {
      name: "new connection per request: guarded dispatcher (resolve + decide + dial)",
      path: "/close",
      f: guarded,
    },
    { name: "kept connection: plain undici Agent", path: "/keep", f: plainFetch },
    { name: "kept connection: guarded dispatcher", path: "/keep", f: guarded },
  ];
  const samples = variants.map(() => [] as number[]);
  const failures = variants.map(() => 0);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, v] of variants.entries()) {
        for (let k = 0; k < PER_ROUND; k++) {
          const t0 = performance.now();
          try {
            const res = await v.f(url + v.path);
            await res.text();
            if (res.status !== 200) failures[i]! += 1;
            else samples[i]!.push(performance.now() - t0);
          } catch {
            failures[i]! += 1;
          }
        }
      }
    }
  } finally {
    await Promise.allSettled([plain.close(), guard.close()]);
    server.closeAllConnections();
    server.close();
  }
  for (const [i, v] of variants.entries()) {
    const total = samples[i]!.reduce((a, b) => a + b, 0);
    rows.push(
      summarize(v.name, samples[i]!, {
        failures: failures[i]!,
        throughputPerS: samples[i]!.length / (total / 1000),
      }),
    );
  }
  return rows;
}
