// Egress proxy overhead inside one allowlist container: a new connection + GET without the proxy (to the
// container's own loopback), through the proxy as plain HTTP, and through a new CONNECT tunnel; interleaved.
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { DEFAULT_CONTAINER_LIMITS, DockerRunner } from "../../sandboxes/src/container/docker-runner.ts";
import { summarize, type Row } from "./stats.ts";

const N = 200;

// Python in the container times each variant itself (perf_counter), round-robin, and prints the samples.
function code(targetPort: number): string {
  return `
import http.client, http.server, json, os, threading, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("content-length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
local = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=local.serve_forever, daemon=True).start()
lport = local.server_address[1]
px, pp = os.environ["HTTP_PROXY"].split("//")[1].split(":")
pp = int(pp)
def direct():
    c = http.client.HTTPConnection("127.0.0.1", lport, timeout=30); c.request("GET", "/"); r = c.getresponse(); r.read(); c.close(); return r.status
def plain():
    c = http.client.HTTPConnection(px, pp, timeout=30); c.request("GET", "http://127.0.0.1:${targetPort}/"); r = c.getresponse(); r.read(); c.close(); return r.status
def tunnel():
    c = http.client.HTTPConnection(px, pp, timeout=30); c.set_tunnel("127.0.0.1", ${targetPort}); c.request("GET", "/"); r = c.getresponse(); r.read(); c.close(); return r.status
out = {"direct": [], "plain": [], "tunnel": [], "errors": []}
for f in (direct, plain, tunnel):
    f()  # warm-up
for i in range(${N}):
    for name, f in (("direct", direct), ("plain", plain), ("tunnel", tunnel)):
        t = time.perf_counter()
        try:
            s = f()
            if s != 200: out["errors"].append(f"{name}: HTTP {s}")
            else: out[name].append((time.perf_counter() - t) * 1000)
        except Exception as e:
            out["errors"].append(f"{name}: {type(e).__name__}: {e}")
print(json.dumps(out))
`;
}

const JOBS = 10;

/** Cold `print(1)` jobs, network none and allowlist interleaved: what the network, proxy and rules cost. */
async function coldJobs(runner: DockerRunner, tport: number): Promise<Row[]> {
  const samples = { none: [] as number[], allowlist: [] as number[] };
  const errors = { none: [] as string[], allowlist: [] as string[] };
  for (let i = 0; i < JOBS; i++) {
    for (const mode of ["none", "allowlist"] as const) {
      const t0 = performance.now();
      const out = await runner.run({
        image: "python",
        code: "print(1)",
        limits: {
          ...DEFAULT_CONTAINER_LIMITS,
          timeoutMs: 120_000,
          network: mode === "none" ? "none" : { mode: "allowlist", hosts: [`127.0.0.1:${tport}`] },
        },
      });
      if (out.status === "succeeded" && out.stdout === "1\n") samples[mode].push(performance.now() - t0);
      else
        errors[mode].push(
          out.status === "failed" ? `${out.failure.kind}: ${out.failure.message}` : out.stdout,
        );
    }
  }
  const row = (name: string, mode: "none" | "allowlist"): Row =>
    summarize(name, samples[mode], {
      failures: errors[mode].length,
      ...(errors[mode].length > 0 ? { failureMessages: [...new Set(errors[mode])].slice(0, 5) } : {}),
    });
  return [
    row("cold job print(1), network none (create + start + job + outcome)", "none"),
    row("cold job print(1), allowlist (+ network, proxy, firewall rules)", "allowlist"),
  ];
}

/**
 * Proxy overhead per new connection, measured inside the container.
 * @example const rows = await benchEgress();
 */
export async function benchEgress(): Promise<Row[]> {
  const target = createServer((_req, res) => res.writeHead(200, { "content-length": "2" }).end("ok"));
  target.listen(0, "127.0.0.1");
  await once(target, "listening");
  const tport = (target.address() as AddressInfo).port;
  const runner = new DockerRunner();
  try {
    await runner.start();
    const out = await runner.run({
      image: "python",
      code: code(tport),
      limits: {
        ...DEFAULT_CONTAINER_LIMITS,
        timeoutMs: 300_000,
        network: { mode: "allowlist", hosts: [`127.0.0.1:${tport}`] },
      },
    });
    if (out.status !== "succeeded") {
      const why = out.failure.kind + ": " + out.failure.message;
      return ["direct", "plain", "tunnel"].map((n) => ({
        name: n,
        n: N,
        failures: N,
        failureMessages: [why],
      }));
    }
    const r = JSON.parse(out.stdout) as Record<"direct" | "plain" | "tunnel", number[]> & {
      errors: string[];
    };
    const journaled = out.usage.egress?.length ?? 0;
    const row = (name: string, samples: number[], key: string): Row => {
      const errors = r.errors.filter((e) => e.startsWith(`${key}:`));
      return summarize(name, samples, {
        failures: errors.length,
        ...(errors.length > 0 ? { failureMessages: [...new Set(errors)].slice(0, 5) } : {}),
      });
    };
    const jobs = await coldJobs(runner, tport);
    return [
      ...jobs,
      row("inside the container: new connection + GET to its own loopback (no proxy)", r.direct, "direct"),
      row(
        "through the egress proxy: new connection + plain HTTP GET to an allowlisted host",
        r.plain,
        "plain",
      ),
      {
        ...row("through the egress proxy: new CONNECT tunnel + GET inside it", r.tunnel, "tunnel"),
        notes: `${journaled} attempts journaled in usage.egress (bound 100, the rest counted as egressOmitted: ${out.usage.egressOmitted ?? 0})`,
      },
    ];
  } finally {
    await runner.dispose();
    target.close();
  }
}
