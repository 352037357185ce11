// End to end: MCP servers (official SDK) as tool sources over Streamable HTTP and stdio, and typed bindings.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import ts from "typescript";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { MCP_FIXTURE_PATH, serveMcpFixtureHttp, type McpFixtureHttp } from "../support/mcp-fixture-server.ts";
import { apiClient, filesContaining, openPolicyDir } from "../support/tool-test-kit.ts";

const HTTP_SECRET = "mcp-bearer-0f9e8d7c6b5a";
const STDIO_SECRET = "stdio-secret-value-42";
let svc: ServiceProcess;
let fixture: McpFixtureHttp;
let api: ReturnType<typeof apiClient>;

before(async () => {
  fixture = await serveMcpFixtureHttp();
  svc = await startService({
    MEND_POLICIES_DIR: openPolicyDir(),
    MEND_MCP_ALLOW_STDIO: "1",
    MEND_MCP_SERVERS: JSON.stringify({
      sfix: { command: process.execPath, args: [MCP_FIXTURE_PATH, "--stdio"] },
    }),
  });
  api = apiClient(svc.url);
  const r = await api.post("/v1/tools/mcp-servers", {
    name: "fixture",
    url: fixture.url,
    headers: { Authorization: `Bearer ${HTTP_SECRET}` },
  });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  await svc?.stop();
  await fixture?.close();
});

const run = (code: string, language: "javascript" | "typescript" = "javascript") =>
  api.post("/v1/executions", { sandbox: "codemode", code, language });

test("configured MCP servers are listed with header and env names only", async () => {
  const r = await api.get("/v1/tools/mcp-servers");
  assert.equal(r.status, 200);
  const byName = Object.fromEntries(r.body.map((s: { name: string }) => [s.name, s]));
  assert.deepEqual(
    [byName.fixture.transport, byName.fixture.origin, byName.fixture.headerNames],
    ["http", "api", ["authorization"]],
  );
  assert.deepEqual([byName.sfix.transport, byName.sfix.origin], ["stdio", "config"]);
});

test("MCP tools appear in GET /v1/tools as <server>.<tool> with their schemas", async () => {
  const tools = (await api.get("/v1/tools")).body as {
    name: string;
    source: string;
    server?: string;
    inputSchema: { required?: string[] };
  }[];
  const add = tools.find((t) => t.name === "fixture.add")!;
  assert.deepEqual([add.source, add.server], ["mcp", "fixture"]);
  assert.deepEqual(add.inputSchema.required, ["a", "b"]);
  assert.ok(tools.some((t) => t.name === "sfix.greet"));
});

test("a code-mode script calls MCP tools over Streamable HTTP and over stdio", async () => {
  const r = await run(
    "const h = await tools.fixture.add({ a: 1, b: 2 }); const s = await tools.sfix.add({ a: 20, b: 22 }); return [h.sum, s.sum, await tools.sfix.greet({ name: 'ada' })];",
  );
  assert.equal(r.body.status, "succeeded", r.text);
  assert.deepEqual(r.body.result, [3, 42, "hello ada"]);
  assert.ok(fixture.requests.some((h) => h.authorization === `Bearer ${HTTP_SECRET}`));
});

test("an MCP tool's error result reaches the script as a tool_failed with its text", async () => {
  const r = await run(
    "try { await tools.fixture.fail({ why: 'nope' }); return 'no error'; } catch (e) { return { kind: e.kind, message: e.message }; }",
  );
  assert.equal(r.body.status, "succeeded", r.text);
  assert.equal(r.body.result.kind, "tool_failed");
  assert.match(r.body.result.message, /fixture failure: nope/);
});

test("arguments that break an MCP tool's schema fail as tool_input_invalid", async () => {
  const r = await run("await tools.fixture.add({ a: 'one', b: 2 }); return 1;");
  assert.equal(r.body.status, "failed", r.text);
  assert.equal(r.body.failure.kind, "tool_input_invalid");
});

test("a script written against GET /v1/tools.d.ts type-checks with tsc, and a wrong argument type does not", async () => {
  const dts = await api.get("/v1/tools.d.ts");
  assert.equal(dts.status, 200, dts.text);
  assert.match(dts.text, /fixture: \{/);
  assert.match(dts.text, /Adds two numbers\./);
  const code = [
    "const h = (await tools.fixture.add({ a: 1, b: 2 })) as { sum: number };",
    "const greeting = await tools.sfix.greet({ name: 'ada' });",
    "await tools.echo({ text: 'typed' });",
    "return [h.sum, greeting];",
  ].join("\n");
  assert.deepEqual(typeCheck(dts.text, code), []);
  const r = await run(code, "typescript");
  assert.deepEqual(r.body.result, [3, "hello ada"], r.text);
  const wrong = typeCheck(dts.text, "await tools.fixture.add({ a: '1', b: 2 });");
  assert.equal(wrong.length, 1, wrong.join("\n"));
  assert.match(wrong[0]!, /'string' is not assignable to type 'number'/);
});

test("a stdio server registered through the API gets its env, which no response, log or file reveals", async () => {
  const reg = await api.post("/v1/tools/mcp-servers", {
    name: "spawned",
    command: process.execPath,
    args: [MCP_FIXTURE_PATH, "--stdio"],
    env: { FIXTURE_TOKEN: STDIO_SECRET },
  });
  assert.equal(reg.status, 201, reg.text);
  assert.deepEqual(reg.body.envNames, ["FIXTURE_TOKEN"]);
  const r = await run("return await tools.spawned.secret_ok({});");
  assert.deepEqual(r.body.result, { ok: true }, r.text);
  await api.get("/v1/tools/mcp-servers/spawned");
  await api.get(`/v1/runs/${r.body.runId}/steps`);
  for (const secret of [STDIO_SECRET, HTTP_SECRET]) {
    assert.deepEqual(
      api.seen.filter((t) => t.includes(secret)),
      [],
    );
    assert.deepEqual(
      svc.logs.filter((l) => l.includes(secret)),
      [],
    );
    assert.deepEqual(filesContaining(svc.dataDir, secret), []);
  }
});

test("a deleted server's tools disappear; a server from MEND_MCP_SERVERS cannot be deleted through the API", async () => {
  assert.equal((await api.delete("/v1/tools/mcp-servers/spawned")).status, 204);
  const names = ((await api.get("/v1/tools")).body as { name: string }[]).map((t) => t.name);
  assert.ok(!names.some((n) => n.startsWith("spawned.")));
  assert.equal((await api.delete("/v1/tools/mcp-servers/sfix")).status, 409);
  assert.equal((await api.delete("/v1/tools/mcp-servers/nothing")).status, 404);
});

/** Type-checks a code-mode script (an async function body) against the served declarations. */
function typeCheck(dts: string, body: string): string[] {
  const files: Record<string, string> = {
    "/virtual/tools.d.ts": dts,
    "/virtual/script.ts": `export async function script() {\n${body}\n}\n`,
  };
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts"],
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => {
    const text = files[name];
    return text !== undefined ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest);
  };
  host.fileExists = (name) => files[name] !== undefined || ts.sys.fileExists(name);
  host.readFile = (name) => files[name] ?? ts.sys.readFile(name);
  const program = ts.createProgram(Object.keys(files), options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}
