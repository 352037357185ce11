// SSRF: the destination policy end to end, with loopback spellings only (no test makes the service attempt a
// connection anywhere else). The real service process runs with loopback refused (MEND_NETWORK_ALLOW_LOOPBACK=0)
// and a hosts file mapping a test name to 127.0.0.1; loopback HTTP servers play an internal service (never to be
// reached), an explicitly allowed target and an MCP server. The non-loopback forms are unit tests of the decision
// (sandboxes/src/destination/destination-check.test.ts), fed by a custom resolver.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { call } from "../support/http-json.ts";
import { createKey, startService, type ServiceProcess } from "../support/service-process.ts";
import { startToolHttpServer, type ToolHttpServer } from "../support/tool-http-server.ts";
import { serveMcpFixtureHttp, type McpFixtureHttp } from "../support/mcp-fixture-server.ts";
import { SqliteStore } from "../../service/src/store/sqlite/sqlite-store.ts";
import { createLogger } from "../../service/src/log/logger.ts";
import { loadPolicies } from "../../service/src/policy/policy-loader.ts";
import { DestinationGuard } from "../../service/src/tools/destination-guard.ts";
import { SecretBox } from "../../service/src/tools/secret-box.ts";
import { ToolRegistry } from "../../service/src/tools/tool-registry.ts";
import { ToolCatalog } from "../../service/src/tools/tool-catalog.ts";
import { ToolCaller } from "../../service/src/tools/tool-caller.ts";
import { HttpToolSource } from "../../service/src/tools/http-tool-source.ts";
import { McpToolSource } from "../../service/src/tools/mcp-tool-source.ts";
import { BUILTIN_TOOL_NAMES } from "../../service/src/tools/builtin-tools.ts";

const REPO_POLICIES = new URL("../../policies/", import.meta.url).pathname;
const REFUSAL_LOG_DEADLINE_MS = 60_000;

let svc: ServiceProcess;
/** The internal service a tenant must never reach. */
let internal: ToolHttpServer;
/** A loopback target that policies open explicitly (network.allow), redirecting to `internal` on /redirect. */
let allowed: ToolHttpServer;
let mcp: McpFixtureHttp;
const keys: Record<string, string> = {};
const tempDirs: string[] = [];

const port = (url: string) => new URL(url).port;
const as = (key: string) => ({ authorization: `Bearer ${key}` });
const tool = (name: string, endpoint: string, extra: Record<string, unknown> = {}) => ({
  name,
  description: "t",
  inputSchema: { type: "object" },
  endpoint,
  method: "GET" as const,
  ...extra,
});
const run = (key: string, code: string) =>
  call(svc.url, "POST", "/v1/executions", { sandbox: "codemode", code }, as(key));

before(async () => {
  internal = await startToolHttpServer({
    "/internal-admin": () => ({ status: 200, json: { secret: "admin" } }),
  });
  mcp = await serveMcpFixtureHttp();
  allowed = await startRedirectingServer(() => `http://127.0.0.1:${port(internal.url)}/internal-admin`);
  const policies = mkdtempSync(join(tmpdir(), "mend-ssrf-policies-"));
  tempDirs.push(policies);
  cpSync(REPO_POLICIES, policies, { recursive: true });
  const I = port(internal.url);
  const A = port(allowed.url);
  const M = port(mcp.url);
  const write = (name: string, text: string) => writeFileSync(join(policies, `${name}.yaml`), text);
  // research plus the internal service opened: the key that registers web.get there legitimately.
  write("research-open", `name: research-open\nextends: research\nnetwork: { allow: ["127.0.0.1:${I}"] }\n`);
  // http.fetch to any host name; only the destination policy stands between a script and loopback.
  write(
    "fetcher",
    `name: fetcher\nextends: default\ntools: { allow: ["**"] }\nhttp: { allowHosts: ["**"] }\nnetwork: { allow: ["127.0.0.1:${A}"] }\n`,
  );
  write(
    "mcp-open",
    `name: mcp-open\nextends: fetcher\nnetwork: { allow: ["127.0.0.1:${A}", "127.0.0.1:${M}"] }\n`,
  );
  const hosts = join(policies, "hosts");
  writeFileSync(hosts, "# test names\n127.0.0.1 internal.test\n");
  const dataDir = mkdtempSync(join(tmpdir(), "mend-ssrf-"));
  tempDirs.push(dataDir);
  const env = {
    MEND_DATA_DIR: dataDir,
    MEND_POLICIES_DIR: policies,
    MEND_NETWORK_ALLOW_LOOPBACK: "0",
    MEND_HOSTS_FILE: hosts,
  };
  for (const p of ["default", "research", "research-open", "fetcher", "mcp-open"])
    keys[p] = await createKey(env, "acme", p);
  svc = await startService(env, dataDir);
});

after(async () => {
  await svc?.stop();
  await Promise.allSettled([internal?.close(), allowed?.close(), mcp?.close()]);
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** The 422 problem of a refused registration, with the network_denied explanation. */
function assertRefused(r: { status: number; body: any }, range: string, what: string): void {
  assert.equal(r.status, 422, `${what}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.type, "urn:mend:problem:network_denied");
  assert.equal(r.body.failure.kind, "network_denied");
  assert.equal(r.body.range, range, what);
  assert.equal(r.body.rule, `destination.${range}`);
  assert.ok(r.body.address, what);
  assert.match(r.body.detail, /refused by default/);
}

describe("the destination policy refuses loopback in every spelling", () => {
  const spellings = (p: string) => [
    `http://127.0.0.1:${p}/internal-admin`,
    `http://127.1:${p}/internal-admin`,
    `http://2130706433:${p}/internal-admin`,
    `http://0177.0.0.1:${p}/internal-admin`,
    `http://0x7f.0.0.1:${p}/internal-admin`,
    `http://[::ffff:127.0.0.1]:${p}/internal-admin`,
    `http://[::1]:${p}/internal-admin`,
    `http://localhost:${p}/internal-admin`,
    `http://internal.test:${p}/internal-admin`,
  ];

  it("at registration: an HTTP tool at any loopback spelling (or 0.0.0.0) is a 422 naming host, address, range and rule", async () => {
    const p = port(internal.url);
    for (const url of spellings(p)) {
      assertRefused(
        await call(svc.url, "POST", "/v1/tools", tool("web.get", url), as(keys.default!)),
        "loopback",
        url,
      );
    }
    assertRefused(
      await call(svc.url, "POST", "/v1/tools", tool("web.get", `http://0.0.0.0:${p}/x`), as(keys.default!)),
      "unspecified",
      "0.0.0.0",
    );
    const mapped = await call(
      svc.url,
      "POST",
      "/v1/tools",
      tool("web.get", `http://internal.test:${p}/`),
      as(keys.default!),
    );
    assert.equal(mapped.body.host, "internal.test");
    assert.equal(mapped.body.address, "127.0.0.1", "the hosts-file name is decided by its address");
    assert.equal(internal.calls.length, 0);
  });

  it("at call time: http.fetch to each loopback spelling fails with network_denied and sends nothing", async () => {
    const p = port(internal.url);
    for (const url of spellings(p)) {
      const r = await run(keys.fetcher!, `return await tools.http.fetch({ url: ${JSON.stringify(url)} });`);
      assert.equal(r.body.status, "failed", `${url}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.failure.kind, "network_denied", `${url}: ${JSON.stringify(r.body.failure)}`);
    }
    assert.equal(internal.calls.length, 0);
  });

  it("an MCP server at loopback is a 422 for the default policy", async () => {
    const r = await call(
      svc.url,
      "POST",
      "/v1/tools/mcp-servers",
      { name: "fixture", url: mcp.url },
      as(keys.default!),
    );
    assertRefused(r, "loopback", mcp.url);
    assert.equal(mcp.requests.length, 0);
  });
});

describe("the research-policy attack", () => {
  it("registering web.get at an internal loopback service is refused; the tool stored under a policy that opens it fails with network_denied for research", async () => {
    const endpoint = `http://127.0.0.1:${port(internal.url)}/internal-admin`;
    const refused = await call(svc.url, "POST", "/v1/tools", tool("web.get", endpoint), as(keys.research!));
    assertRefused(refused, "loopback", endpoint);
    const stored = await call(
      svc.url,
      "POST",
      "/v1/tools",
      tool("web.get", endpoint),
      as(keys["research-open"]!),
    );
    assert.equal(stored.status, 201, JSON.stringify(stored.body));
    // research first: web.get is cached under research's cache rule, and the cache is the tenant's.
    const attack = await run(keys.research!, "return await tools.web.get({});");
    assert.equal(attack.body.status, "failed", JSON.stringify(attack.body));
    assert.equal(attack.body.failure.kind, "network_denied");
    assert.match(attack.body.failure.message, /127\.0\.0\.1/);
    assert.match(attack.body.failure.message, /loopback/);
    assert.equal(internal.count("/internal-admin"), 0, "the internal service was never reached");
    // The explicitly allowed loopback target is reachable for the policy that opens it.
    const legit = await run(keys["research-open"]!, "return await tools.web.get({});");
    assert.equal(legit.body.status, "succeeded", JSON.stringify(legit.body));
    assert.deepEqual(legit.body.result, { secret: "admin" });
    assert.equal(internal.count("/internal-admin"), 1);
  });
});

describe("redirects and explicitly allowed targets", () => {
  it("an allowed loopback target is reachable; its redirect to loopback is returned, not followed, and refused when fetched", async () => {
    const target = `http://127.0.0.1:${port(internal.url)}/internal-admin`;
    const before = internal.calls.length;
    const ok = await run(keys.fetcher!, `return await tools.http.fetch({ url: "${allowed.url}/ok" });`);
    assert.equal(ok.body.status, "succeeded", JSON.stringify(ok.body));
    assert.equal(ok.body.result.status, 200);
    const code = `
      const r = await tools.http.fetch({ url: "${allowed.url}/redirect" });
      if (r.status !== 302 || r.headers.location !== ${JSON.stringify(target)}) return { unexpected: r };
      return await tools.http.fetch({ url: r.headers.location });`;
    const r = await run(keys.fetcher!, code);
    assert.equal(r.body.status, "failed", JSON.stringify(r.body));
    assert.equal(r.body.failure.kind, "network_denied");
    assert.equal(r.body.failure.range, "loopback");
    assert.equal(internal.calls.length, before, "the redirect target was never reached");
    assert.equal(allowed.count("/redirect"), 1);
  });
});

describe("MCP servers under several policies", () => {
  it("a server registered under a policy that opens it lists its tools there, and is hidden from a policy that refuses it", async () => {
    const reg = await call(
      svc.url,
      "POST",
      "/v1/tools/mcp-servers",
      { name: "fixture", url: mcp.url },
      as(keys["mcp-open"]!),
    );
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const open = await call(svc.url, "GET", "/v1/tools", undefined, as(keys["mcp-open"]!));
    assert.ok(
      open.body.some((t: { name: string }) => t.name.startsWith("fixture.")),
      JSON.stringify(open.body.map((t: { name: string }) => t.name)),
    );
    const seenBefore = mcp.requests.length;
    const hidden = await call(svc.url, "GET", "/v1/tools", undefined, as(keys.fetcher!));
    assert.equal(hidden.status, 200);
    assert.ok(!hidden.body.some((t: { name: string }) => t.name.startsWith("fixture.")));
    assert.equal(mcp.requests.length, seenBefore, "the refusing policy opened no connection to the server");
    // The refusal is logged with its rule: poll, the line may not be flushed yet.
    const deadline = Date.now() + REFUSAL_LOG_DEADLINE_MS;
    let line: string | undefined;
    while (!line && Date.now() < deadline) {
      line = svc.logs.find(
        (l) => l.includes("refused by the destination policy") && l.includes("destination.loopback"),
      );
      if (!line) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(line, "the refusal was logged with its rule");
    assert.match(line, /"server":"fixture"/);
  });
});

describe("DNS rebinding", () => {
  it("a name that resolves to an allowed address at registration and to another loopback address at connect time is refused, and that address is never reached", async (t) => {
    // Loopback only: the answers flip from 127.0.0.1 (opened by the rule) to 127.0.0.2 (refused).
    const victim = await startToolHttpServerOn("127.0.0.2");
    t.after(() => victim.close());
    const answers = ["127.0.0.1"];
    const resolver = async (host: string) => {
      assert.equal(host, "rebind.test");
      return [{ address: answers.shift() ?? "127.0.0.2", family: 4 as const }];
    };
    const dir = mkdtempSync(join(tmpdir(), "mend-rebind-"));
    const store = SqliteStore.open(join(dir, "mend.db"));
    const destinations = new DestinationGuard({ allowLoopback: false, resolver });
    t.after(async () => {
      await destinations.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const log = createLogger("silent");
    const registry = new ToolRegistry({
      store,
      secrets: new SecretBox({ dataDir: dir, log }),
      builtinNames: BUILTIN_TOOL_NAMES,
      configServers: [],
      allowStdio: false,
      destinations,
    });
    const base = (await loadPolicies(REPO_POLICIES)).get("default")!;
    const policy = { ...base, name: "rebind", network: { allow: ["127.0.0.1"] } };
    const endpoint = `http://rebind.test:${port(victim.url)}/internal-admin`;
    const reg = await registry.registerHttpTool("acme", tool("web.get", endpoint), policy);
    assert.equal(reg.created, true);
    const catalog = new ToolCatalog();
    catalog.addSource(new HttpToolSource(registry));
    const caller = new ToolCaller(catalog, store, destinations);
    const r = await caller.call(
      { tenant: "acme", keyId: null, policy },
      "web.get",
      {},
      { tenant: "acme", runId: "run_r", idempotencyKey: "run_r/1/1" },
    );
    assert.ok(!r.ok);
    assert.equal(r.failure.kind, "network_denied", JSON.stringify(r.failure));
    assert.equal(r.failure.address, "127.0.0.2");
    assert.equal(r.failure.host, "rebind.test");
    assert.equal(victim.calls.length, 0);
  });
});

describe("DNS rebinding of an MCP server", () => {
  it("a server whose name passes at registration and listing but resolves to a refused address when the connection is made is hidden, and the refusal is logged with its rule", async (t) => {
    let logged = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged += chunk.toString();
        done();
      },
    });
    const log = createLogger("warn", sink);
    // Registration and listing see 127.0.0.1 (opened by the rule); the connection sees 127.0.0.2.
    const answers = ["127.0.0.1", "127.0.0.1"];
    const resolver = async () => [{ address: answers.shift() ?? "127.0.0.2", family: 4 as const }];
    const dir = mkdtempSync(join(tmpdir(), "mend-rebind-mcp-"));
    const store = SqliteStore.open(join(dir, "mend.db"));
    const destinations = new DestinationGuard({ allowLoopback: false, resolver });
    const registry = new ToolRegistry({
      store,
      secrets: new SecretBox({ dataDir: dir, log }),
      builtinNames: BUILTIN_TOOL_NAMES,
      configServers: [],
      allowStdio: false,
      destinations,
    });
    const source = new McpToolSource((tenant) => registry.mcpServers(tenant), log, destinations);
    t.after(async () => {
      await source.close();
      await destinations.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const base = (await loadPolicies(REPO_POLICIES)).get("default")!;
    const policy = { ...base, name: "rebind", network: { allow: ["127.0.0.1"] } };
    const url = `http://rebind.test:${port(mcp.url)}/mcp`;
    const before = mcp.requests.length;
    await registry.registerMcpServer("acme", { name: "fx", url }, policy);
    assert.deepEqual(await source.list("acme", policy), []);
    assert.equal(mcp.requests.length, before, "no request reached any MCP server");
    const deadline = Date.now() + REFUSAL_LOG_DEADLINE_MS;
    while (!logged.includes("destination.loopback") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const rec = JSON.parse(
      logged
        .trim()
        .split("\n")
        .find((l) => l.includes("destination.loopback"))!,
    ) as {
      err: string;
      address: string;
      rule: string;
    };
    assert.equal(rec.address, "127.0.0.2");
    assert.equal(rec.rule, "destination.loopback");
    assert.match(rec.err, /rebind\.test:\d+ \(address 127\.0\.0\.2\) is in the loopback/);
  });
});

/** /ok answers 200; /redirect answers 302 with Location `to()`. Counts calls by path. */
async function startRedirectingServer(to: () => string): Promise<ToolHttpServer> {
  const { createServer } = await import("node:http");
  const calls: ToolHttpServer["calls"] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    calls.push({ path, headers: req.headers, body: null, n: calls.length + 1 });
    if (path === "/redirect") return res.writeHead(302, { location: to() }).end();
    res.writeHead(200, { "content-type": "application/json" }).end('{"reached":"allowed"}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: p } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${p}`,
    calls,
    count: (path) => calls.filter((c) => c.path === path).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** startToolHttpServer on another loopback address (the whole of 127.0.0.0/8 is loopback on Linux). */
async function startToolHttpServerOn(address: string): Promise<ToolHttpServer> {
  const { createServer } = await import("node:http");
  const calls: ToolHttpServer["calls"] = [];
  const server = createServer((req, res) => {
    calls.push({ path: req.url ?? "/", headers: req.headers, body: null, n: calls.length + 1 });
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port: p } = server.address() as { port: number };
  return {
    url: `http://${address}:${p}`,
    calls,
    count: (path) => calls.filter((c) => c.path === path).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
