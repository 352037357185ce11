// Container egress allowlists against the real Docker engine and host firewall: python urllib through the
// proxy (plain and CONNECT) reaches an allowlisted loopback server, another is refused, both journaled;
// nothing else on the host or in other containers is reachable; networks and rules are cleaned up.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import Docker from "dockerode";
import { DEFAULT_CONTAINER_LIMITS, DockerRunner } from "../../sandboxes/src/container/docker-runner.ts";
import type { ContainerJob, ContainerOutcome } from "../../sandboxes/src/container/runner.ts";
import { allowlistCheck } from "../../sandboxes/src/egress/egress-check.ts";
import { isOurRule } from "../../sandboxes/src/egress/egress-firewall.ts";
import { openEgress } from "../../sandboxes/src/egress/egress-session.ts";
import { call } from "../support/http-json.ts";
import { startService } from "../support/service-process.ts";

const exec = promisify(execFile);
const docker = new Docker({ socketPath: "/var/run/docker.sock" });
const TEST_LABEL = "mend.test.egress";

// Targets: all on the host's loopback, except `open` which listens on every address (the kind of host
// service a container must not reach directly).
let plain: Server;
let tls: Server;
let refused: Server;
let open: Server;
const hits = { plain: 0, tls: 0, refused: 0, open: 0 };
const port = (s: Server) => (s.address() as AddressInfo).port;
let certDir = "";

// a test name the proxy resolves to loopback (no DNS query leaves the machine)
const TEST_HOST = "api.mend.test";
const runner = new DockerRunner({
  egressCheck: (hosts) =>
    allowlistCheck(hosts, async (h) => {
      if (h === TEST_HOST) return ["127.0.0.1"];
      throw Object.assign(new Error("no such test name"), { code: "ENOTFOUND" });
    }),
});

function allowlistJob(code: string, extraHosts: string[] = [], timeoutMs = 60_000): ContainerJob {
  return {
    image: "python",
    code,
    limits: {
      ...DEFAULT_CONTAINER_LIMITS,
      timeoutMs,
      network: {
        mode: "allowlist",
        hosts: [`${TEST_HOST}:${port(plain)}`, `127.0.0.1:${port(tls)}`, ...extraHosts],
      },
    },
  };
}

function show(out: ContainerOutcome): string {
  return JSON.stringify({
    status: out.status,
    stdout: out.stdout,
    stderr: out.stderr.slice(-1500),
    usage: out.usage,
  });
}

/** Every iptables/ip6tables rule of Mend's egress firewall (never Docker's own rules). */
async function bridges(): Promise<string[]> {
  const { stdout } = await exec("iptables", ["-w", "30", "-S"]);
  const { stdout: v6 } = await exec("ip6tables", ["-w", "30", "-S"]);
  return `${stdout}\n${v6}`.split("\n").filter((l) => {
    const b = /mendeg[0-9a-f]+/.exec(l)?.[0];
    return /MEND-EG-/.test(l) || (b !== undefined && isOurRule(l, b));
  });
}

/** Waits until a connection to host:8000 from inside container `id` succeeds (docker exec). */
async function listening(id: string, host: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await exec("docker", [
        "exec",
        id,
        "python3",
        "-c",
        `import socket; socket.create_connection(("${host}", 8000), timeout=5).close()`,
      ]);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Polls until no Mend rule is left that was not there `before` (removal runs in the background). */
async function rulesLeft(before: string[]): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const left = (await bridges()).filter((l) => !before.includes(l));
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function ownedNetworks(owner: string): Promise<string[]> {
  const list = await docker.listNetworks({ filters: { label: [`mend.owner=${owner}`] } });
  return list.map((n) => n.Name);
}

before(async () => {
  certDir = mkdtempSync(join(tmpdir(), "mend-egress-cert-"));
  await exec("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    join(certDir, "key.pem"),
    "-out",
    join(certDir, "cert.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
  ]);
  plain = createHttpServer((req, res) => {
    hits.plain++;
    res.end(`plain ok ${req.url} host=${req.headers.host}`);
  });
  tls = createHttpsServer(
    { key: readFileSync(join(certDir, "key.pem")), cert: readFileSync(join(certDir, "cert.pem")) },
    (req, res) => {
      hits.tls++;
      res.end(`tls ok ${req.url}`);
    },
  );
  refused = createHttpServer((_req, res) => {
    hits.refused++;
    res.end("must not be reached");
  });
  open = createHttpServer((_req, res) => {
    hits.open++;
    res.end("must not be reached");
  });
  plain.listen(0, "127.0.0.1");
  tls.listen(0, "127.0.0.1");
  refused.listen(0, "127.0.0.1");
  open.listen(0, "0.0.0.0");
  await Promise.all([plain, tls, refused, open].map((s) => once(s, "listening")));
  await runner.start();
});

after(async () => {
  try {
    await runner.dispose();
    const stray = await docker.listContainers({ all: true, filters: { label: [TEST_LABEL] } });
    await Promise.allSettled(stray.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    assert.deepEqual(await ownedNetworks(runner.ownerId), [], "no egress network of this runner is left");
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`mend.owner=${runner.ownerId}`] },
    });
    assert.equal(left.length, 0, "no container of this runner is left");
  } finally {
    for (const s of [plain, tls, refused, open]) s.close();
    rmSync(certDir, { recursive: true, force: true });
  }
});

void describe("container egress allowlist", () => {
  void test("python urllib reaches an allowlisted host through the proxy, plain and CONNECT; another is refused; all journaled", async () => {
    const code = `
import ssl, urllib.request, urllib.error
print(urllib.request.urlopen("http://${TEST_HOST}:${port(plain)}/p", timeout=30).read().decode())
ctx = ssl._create_unverified_context()
print(urllib.request.urlopen("https://127.0.0.1:${port(tls)}/t", context=ctx, timeout=30).read().decode())
try:
    urllib.request.urlopen("http://127.0.0.1:${port(refused)}/r", timeout=30)
except urllib.error.HTTPError as e:
    print("refused", e.code)
`;
    const out = await runner.run(allowlistJob(code));
    assert.equal(out.status, "succeeded", show(out));
    assert.equal(out.stdout, `plain ok /p host=${TEST_HOST}:${port(plain)}\ntls ok /t\nrefused 403\n`);
    const egress = out.usage.egress ?? [];
    assert.deepEqual(
      egress.map((r) => [r.host, r.port, r.allowed]),
      [
        [TEST_HOST, port(plain), true],
        ["127.0.0.1", port(tls), true],
        ["127.0.0.1", port(refused), false],
      ],
    );
    for (const r of egress.slice(0, 2)) assert.ok(r.bytesIn > 0 && r.bytesOut > 0, JSON.stringify(r));
    assert.equal(egress[2]?.bytesIn, 0);
    assert.match(egress[2]?.reason ?? "", /not in the egress allowlist/);
    assert.equal(hits.refused, 0, "the refused server saw no request");
  });

  void test("code that fails because of a refusal ends in network_denied naming the host", async () => {
    const out = await runner.run(
      allowlistJob(
        `import urllib.request\nurllib.request.urlopen("http://127.0.0.1:${port(refused)}/x", timeout=30)\n`,
      ),
    );
    assert.equal(out.status, "failed", show(out));
    assert.ok(out.status === "failed");
    assert.equal(out.failure.kind, "network_denied");
    assert.equal(out.failure.host, "127.0.0.1");
    assert.match(out.failure.message, new RegExp(`127\\.0\\.0\\.1:${port(refused)}`));
    assert.deepEqual(
      out.usage.egress?.map((r) => r.allowed),
      [false],
    );
    assert.equal(hits.refused, 0);
    // a direct connection (not through the proxy) fails in the kernel: the failure says what is offered
    const direct = await runner.run(
      allowlistJob(`import socket\nsocket.create_connection(("172.17.0.1", 80), timeout=5)\n`),
    );
    assert.ok(direct.status === "failed", show(direct));
    assert.equal(direct.failure.kind, "network_denied", show(direct));
    assert.match(direct.failure.message, /only the egress proxy in HTTP_PROXY\/HTTPS_PROXY is reachable/);
  });

  void test("the container reaches nothing directly: not the host (any address, any port), not its loopback targets, no DNS", async () => {
    const code = `
import os, socket
gw = os.environ["HTTP_PROXY"].split("//")[1].split(":")[0]
targets = [(gw, ${port(open)}), (gw, 22), ("127.0.0.1", ${port(plain)}), ("172.17.0.1", ${port(open)})]
for host, p in targets:
    try:
        socket.create_connection((host, p), timeout=5).close()
        print("REACHED", host, p)
    except OSError as e:
        print("blocked", host, p, type(e).__name__)
try:
    socket.getaddrinfo("${TEST_HOST}", 80)
    print("RESOLVED")
except OSError:
    print("no dns")
`;
    const out = await runner.run(allowlistJob(code));
    assert.equal(out.status, "succeeded", show(out));
    assert.doesNotMatch(out.stdout, /REACHED|RESOLVED/, out.stdout);
    assert.equal(out.stdout.split("\n").filter((l) => l.startsWith("blocked")).length, 4, out.stdout);
    assert.equal(hits.open, 0, "the host service on 0.0.0.0 saw nothing");
    assert.deepEqual(out.usage.egress, [], "no attempt went through the proxy");
  });

  void test("one allowlist container cannot reach another, nor a container on Docker's default bridge", async () => {
    // a server on the default bridge, made by this test
    const bridged = await docker.createContainer({
      Image: "mend-runtime-python:latest",
      Entrypoint: [
        "python3",
        "-c",
        "import http.server as h; h.HTTPServer(('0.0.0.0', 8000), h.SimpleHTTPRequestHandler).serve_forever()",
      ],
      User: "65534:65534",
      Labels: { [TEST_LABEL]: "1" },
      HostConfig: { NetworkMode: "bridge", ReadonlyRootfs: true, Memory: 64 * 1024 * 1024 },
    });
    const abort = new AbortController();
    try {
      await bridged.start();
      const bridgedIp = (await bridged.inspect()).NetworkSettings.Networks.bridge?.IPAddress ?? "";
      assert.ok(bridgedIp.length > 0);
      // a server inside another allowlist job, which checks that it is itself reachable
      const serverCode = `
import http.server, socket, threading, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print("HIT", flush=True); self.send_response(200); self.end_headers()
srv = http.server.HTTPServer(("0.0.0.0", 8000), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
me = socket.gethostbyname(socket.gethostname())
socket.create_connection((me, 8000), timeout=5).close()
print("self ok", flush=True)
time.sleep(120)
`;
      const labels = { "mend.execution": `ex_egress_srv_${process.pid}` };
      const serving = runner.run({ ...allowlistJob(serverCode, [], 150_000), labels, signal: abort.signal });
      let serverIp = "";
      let serverId = "";
      const deadline = Date.now() + 60_000;
      while (serverIp === "" && Date.now() < deadline) {
        const [c] = await docker.listContainers({
          filters: { label: [`mend.execution=${labels["mend.execution"]}`] },
        });
        const nets = c?.NetworkSettings?.Networks ?? {};
        serverIp = Object.values(nets).find((n) => n.IPAddress)?.IPAddress ?? "";
        serverId = c?.Id ?? "";
        if (serverIp === "") await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(serverIp !== "", "the server job's container came up");
      // both servers listen (checked from inside their own containers) before the probe tries them
      await listening(serverId, serverIp);
      await listening(bridged.id, "127.0.0.1");
      const probe = `
import socket
for host in ["${serverIp}", "${bridgedIp}"]:
    try:
        socket.create_connection((host, 8000), timeout=5).close()
        print("REACHED", host)
    except OSError as e:
        print("blocked", host, type(e).__name__)
`;
      const out = await runner.run(allowlistJob(probe));
      assert.equal(out.status, "succeeded", show(out));
      assert.doesNotMatch(out.stdout, /REACHED/, out.stdout);
      abort.abort();
      const served = await serving;
      assert.equal(served.status, "failed", "the server job was interrupted, not ended early");
      assert.doesNotMatch(served.stdout, /HIT/);
    } finally {
      abort.abort();
      await bridged.remove({ force: true }).catch(() => undefined);
    }
  });

  void test("allowlist networking under runsc is refused before anything is created", async () => {
    const labels = { mend: "1", "mend.owner": "runner_runsc", "mend.owner.pid": String(process.pid) };
    await assert.rejects(openEgress(docker, labels, ["127.0.0.1:1"], undefined, "runsc"), /runsc/);
    assert.deepEqual(await ownedNetworks("runner_runsc"), []);
  });

  void test("network none is unchanged: no proxy variables, no interface but lo, no usage.egress", async () => {
    const out = await runner.run({
      image: "python",
      code: `import os, socket\nprint(os.environ.get("HTTP_PROXY"), sorted(os.listdir("/sys/class/net")))\nsocket.create_connection(("127.0.0.1", ${port(plain)}), timeout=5)\n`,
      limits: { ...DEFAULT_CONTAINER_LIMITS, timeoutMs: 60_000 },
    });
    assert.equal(out.status, "failed", show(out));
    assert.ok(out.status === "failed");
    assert.equal(out.stdout, "None ['lo']\n");
    assert.match(out.stderr, /ConnectionRefusedError/);
    assert.equal(out.usage.egress, undefined);
  });

  void test("a job's network and firewall rules are gone once it ends; a dead process's are swept at start", async () => {
    const before = await bridges();
    const out = await runner.run(allowlistJob("print(1)"));
    assert.equal(out.status, "succeeded", show(out));
    // removal runs in the background after the outcome: poll for it
    const deadline = Date.now() + 60_000;
    let nets = await ownedNetworks(runner.ownerId);
    while (nets.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      nets = await ownedNetworks(runner.ownerId);
    }
    assert.deepEqual(nets, []);
    assert.deepEqual(await rulesLeft(before), []);

    // a leftover of a process that died mid-job: network and rules with a dead owner pid
    const deadOwner = `runner_dead_${process.pid}_${Date.now()}`;
    const dead = await openEgress(
      docker,
      {
        mend: "1",
        "mend.owner": deadOwner,
        "mend.owner.pid": "4194000",
        "mend.owner.host": hostname(),
      },
      ["127.0.0.1:1"],
    );
    await dead.close(); // the proxy dies with its process; network and rules stay
    try {
      // openEgress resolved, so its network and rules exist (it throws otherwise). Not asserted here:
      // any other runner starting on this machine meanwhile may sweep them first, which is fine too.
      const second = new DockerRunner();
      await second.start();
      await second.dispose();
      assert.deepEqual(await ownedNetworks(deadOwner), []);
      assert.deepEqual(await rulesLeft(before), []);
    } finally {
      await dead.dispose();
    }
  });
});

void describe("egress allowlist through the API", () => {
  void test("the policy grants the allowlist; usage.egress and the audit record each attempt; a refusal that fails the code is network_denied; SIGTERM removes the networks", async () => {
    const policies = mkdtempSync(join(tmpdir(), "mend-egress-policies-"));
    writeFileSync(
      join(policies, "default.yaml"),
      `name: default\ncontainer:\n  enabled: true\n  images: [python]\n  network: { python: { mode: allowlist, hosts: ["127.0.0.1:${port(plain)}"] } }\n`,
    );
    const svc = await startService({ MEND_POLICIES_DIR: policies });
    try {
      const exec = (body: Record<string, unknown>) =>
        call<any>(svc.url, "POST", "/v1/executions", { sandbox: "container", image: "python", ...body });
      const ok = await exec({
        code: `import urllib.request, urllib.error
print(urllib.request.urlopen("http://127.0.0.1:${port(plain)}/api", timeout=30).read().decode())
try:
    urllib.request.urlopen("http://127.0.0.1:${port(refused)}/no", timeout=30)
except urllib.error.HTTPError as e:
    print("refused", e.code)
`,
      });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.status, "succeeded", JSON.stringify(ok.body));
      assert.equal(ok.body.stdout, `plain ok /api host=127.0.0.1:${port(plain)}\nrefused 403\n`);
      assert.deepEqual(
        ok.body.usage.egress.map((r: { port: number; allowed: boolean }) => [r.port, r.allowed]),
        [
          [port(plain), true],
          [port(refused), false],
        ],
      );
      const steps = (await call<any>(svc.url, "GET", `/v1/runs/${ok.body.runId}/steps`)).body;
      assert.deepEqual(steps[0].usage.egress, ok.body.usage.egress, "journaled as answered");
      assert.deepEqual(
        steps[0].audit.egressDenied.map((r: { port: number }) => r.port),
        [port(refused)],
        "the refusal is in the step's audit",
      );
      assert.deepEqual(steps[0].audit.resolved.limits.network, {
        mode: "allowlist",
        hosts: [`127.0.0.1:${port(plain)}`],
      });

      const denied = await exec({
        code: `import urllib.request\nurllib.request.urlopen("http://127.0.0.1:${port(refused)}/no", timeout=30)\n`,
      });
      assert.equal(denied.body.status, "failed", JSON.stringify(denied.body));
      assert.equal(denied.body.failure.kind, "network_denied");
      assert.equal(denied.body.failure.layer, "policy");
      assert.equal(denied.body.failure.host, "127.0.0.1");

      const none = await exec({
        code: "import os\nprint(os.environ.get('HTTP_PROXY'))",
        limits: { network: "none" },
      });
      assert.equal(none.body.status, "succeeded", JSON.stringify(none.body));
      assert.equal(none.body.stdout, "None\n");
      assert.equal(none.body.usage.egress, undefined);
      assert.equal(hits.refused, 0);
    } finally {
      await svc.stop("SIGTERM");
      rmSync(policies, { recursive: true, force: true });
    }
    const left = await docker.listNetworks({ filters: { label: [`mend.owner.pid=${svc.child.pid}`] } });
    assert.deepEqual(
      left.map((n) => n.Name),
      [],
      "the stopped service left no egress network",
    );
  });
});
