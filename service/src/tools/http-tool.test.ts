import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { callHttpTool, type HttpToolSpec } from "./http-tool.ts";
import { DestinationGuard } from "./destination-guard.ts";

let server: Server;
let base = "";
const calls = new Map<string, number>();
const seen: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const n = (calls.get(path) ?? 0) + 1;
      calls.set(path, n);
      seen.push({ path, headers: req.headers, body });
      const json = (status: number, v: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(v));
      if (path === "/echo") return json(200, { args: JSON.parse(body), key: req.headers["idempotency-key"] });
      if (path === "/hang") return; // never answers
      if (path.startsWith("/flaky"))
        return n === 1 ? json(500, { error: "x".repeat(5000) + "END" }) : json(200, { ok: n });
      if (path === "/text") return res.writeHead(200, { "content-type": "text/plain" }).end("plain hello");
      if (path === "/wrong-shape") return json(200, { total: "not a number" });
      if (path === "/leak") return json(400, { error: `bad token ${req.headers.authorization}` });
      if (path === "/redirect") return res.writeHead(302, { location: "http://example.com/" }).end();
      json(404, { error: "no such path" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

// The fixture is on loopback: opened as the operator's local-development setting does.
const destinations = new DestinationGuard({ allowLoopback: true });

after(async () => {
  await destinations.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const spec = (path: string, extra: Partial<HttpToolSpec> = {}): HttpToolSpec => ({
  kind: "http",
  description: "test",
  inputSchema: { type: "object" },
  endpoint: base + path,
  method: "POST",
  headerNames: [],
  timeoutMs: 5000,
  version: "1",
  idempotent: false,
  ...extra,
});
const ctx = { tenant: "local", runId: "run_1", idempotencyKey: "run_1/2/3", destinations };

test("an HTTP tool is POSTed its arguments as JSON with the Idempotency-Key and the stored headers", async () => {
  const r = await callHttpTool("t", spec("/echo"), { authorization: "Bearer s3cret-token" }, { q: 1 }, ctx);
  assert.deepEqual(r, { ok: true, value: { args: { q: 1 }, key: "run_1/2/3" } });
  const last = seen.at(-1)!;
  assert.equal(last.headers.authorization, "Bearer s3cret-token");
  assert.equal(last.headers["content-type"], "application/json");
});

test("a tool that does not answer fails with a retryable tool_failed naming the timeout", async () => {
  const r = await callHttpTool("slow", spec("/hang", { timeoutMs: 150 }), {}, {}, ctx);
  assert.equal(r.ok, false);
  assert.ok(!r.ok);
  assert.equal(r.failure.kind, "tool_failed");
  assert.equal(r.failure.retryable, true);
  assert.match(r.failure.message, /did not answer within 150 ms/);
});

test("a 500 is not retried for a non-idempotent tool, and the failure carries status and body tail", async () => {
  const r = await callHttpTool("t", spec("/flaky-a"), {}, {}, ctx);
  assert.ok(!r.ok);
  assert.equal(calls.get("/flaky-a"), 1);
  assert.equal(r.failure.status, 500);
  assert.ok(r.failure.bodyTail!.endsWith('END"}'));
  assert.ok(Buffer.byteLength(r.failure.bodyTail!) <= 2048);
});

test("a 500 then 200 succeeds on retry for an idempotent tool", async () => {
  const r = await callHttpTool("t", spec("/flaky-b", { idempotent: true }), {}, {}, ctx);
  assert.deepEqual(r, { ok: true, value: { ok: 2 } });
  assert.equal(calls.get("/flaky-b"), 2);
});

test("a refused connection is retried for an idempotent tool and then fails as retryable", async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const r = await callHttpTool(
    "t",
    { ...spec("/"), endpoint: `http://127.0.0.1:${port}/`, idempotent: true },
    {},
    {},
    ctx,
  );
  assert.ok(!r.ok);
  assert.equal(r.failure.retryable, true);
  assert.match(r.failure.message, /ECONNREFUSED.*after 3 attempts/);
});

test("a non-JSON success body is returned as text", async () => {
  assert.deepEqual(await callHttpTool("t", spec("/text"), {}, {}, ctx), { ok: true, value: "plain hello" });
});

test("a response that breaks the output schema is a tool_failed with the offending paths", async () => {
  const outputSchema = { type: "object", properties: { total: { type: "number" } }, required: ["total"] };
  const r = await callHttpTool("t", spec("/wrong-shape", { outputSchema }), {}, {}, ctx);
  assert.ok(!r.ok);
  assert.equal(r.failure.kind, "tool_failed");
  assert.equal(r.failure.errors?.[0]?.path, "/total");
});

test("credentials echoed back by the endpoint are redacted from the failure", async () => {
  const r = await callHttpTool("t", spec("/leak"), { authorization: "Bearer s3cret-token" }, {}, ctx);
  assert.ok(!r.ok);
  assert.equal(r.failure.status, 400);
  assert.doesNotMatch(JSON.stringify(r.failure), /s3cret-token/);
  assert.match(r.failure.bodyTail!, /\[redacted\]/);
});

test("redirects are not followed, so stored headers never reach another origin", async () => {
  const r = await callHttpTool("t", spec("/redirect"), { authorization: "Bearer s3cret-token" }, {}, ctx);
  assert.ok(!r.ok);
  assert.equal(r.failure.status, 302);
  assert.match(r.failure.message, /redirects are not followed/);
});
