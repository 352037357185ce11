// The OpenAPI document against the app: every registered route is described, every example validates.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { FormatRegistry, type TSchema } from "@sinclair/typebox";
import { loadConfig } from "../../service/src/config/config.ts";
import { createLogger } from "../../service/src/log/logger.ts";
import { createServices } from "../../service/src/services/services.ts";
import { createApp } from "../../service/src/edge/app.ts";
import { ROUTES } from "../../wire/src/routes.ts";

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, unknown> };
};

// TypeBox checks formats only when registered: date-time as RFC 3339 (what toISOString produces).
if (!FormatRegistry.Has("date-time")) {
  FormatRegistry.Set("date-time", (v) =>
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v),
  );
}
if (!FormatRegistry.Has("uri")) FormatRegistry.Set("uri", (v) => URL.canParse(v));

let services: Awaited<ReturnType<typeof createServices>>;
let app: ReturnType<typeof createApp>;
let doc: Doc;

before(async () => {
  const config = loadConfig({
    MEND_DATA_DIR: mkdtempSync(join(tmpdir(), "mend-openapi-")),
    MEND_LOG_LEVEL: "silent",
  });
  services = await createServices(config, createLogger("silent"), { containers: false });
  app = createApp(services);
  const res = await app.request("/v1/openapi.json");
  assert.equal(res.status, 200);
  doc = (await res.json()) as Doc;
});
after(async () => services.dispose());

/** `/v1/runs/:id/checkpoints/:key` → `/v1/runs/{id}/checkpoints/{key}` */
const openapiPath = (honoPath: string) =>
  honoPath.replace(/:([A-Za-z_]\w*)/g, "{$1}").replace(/(.)\/$/, "$1");

describe("GET /v1/openapi.json", () => {
  it("is an OpenAPI 3.1 document whose schemas are components", () => {
    assert.equal(doc.openapi, "3.1.0");
    for (const name of ["ExecutionRequest", "ExecutionResponse", "Failure", "Run", "Step", "Problem"]) {
      assert.ok(doc.components.schemas[name], `component ${name}`);
    }
  });

  it("describes every route the app registers", () => {
    const registered = new Set(
      app.routes
        .filter((r) => r.method !== "ALL")
        .map((r) => `${r.method.toLowerCase()} ${openapiPath(r.path)}`),
    );
    const described = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)),
    );
    const missing = [...registered].filter((r) => !described.has(r));
    assert.deepEqual(missing, [], `routes missing from wire/src/routes.ts: ${missing.join(", ")}`);
  });

  it("has an example for the main requests and responses, each valid against its schema", () => {
    let checked = 0;
    for (const route of ROUTES) {
      const pairs: [string, TSchema | undefined, unknown][] = [];
      if (route.body?.example !== undefined)
        pairs.push([`${route.method} ${route.path} body`, route.body.schema, route.body.example]);
      for (const [status, r] of Object.entries(route.responses)) {
        if (r.example !== undefined)
          pairs.push([`${route.method} ${route.path} ${status}`, r.schema, r.example]);
      }
      for (const [where, schema, example] of pairs) {
        assert.ok(schema, `${where}: an example without a schema`);
        const check = TypeCompiler.Compile(schema);
        const errors = [...check.Errors(example)].map((e) => `${e.path} ${e.message}`);
        assert.deepEqual(errors, [], `${where}: example does not validate`);
        checked++;
      }
    }
    assert.ok(checked >= 20, `only ${checked} examples`);
  });

  it("documents 401, 403 and 429 on every authenticated operation, 413 and 415 where a body is read", () => {
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops) as [string, Record<string, any>][]) {
        const codes = Object.keys(op.responses as object);
        const authenticated = !(Array.isArray(op.security) && op.security.length === 0);
        const signIn = method === "get" && path.startsWith("/ui") ? "302" : "401";
        const expected = [
          ...(authenticated ? [signIn, "403", "429"] : []),
          ...(op.requestBody ? ["413"] : []),
          ...(op.requestBody?.content?.["application/json"] ? ["415"] : []),
          "503",
        ];
        for (const code of expected) if (!codes.includes(code)) missing.push(`${method} ${path} ${code}`);
      }
    }
    assert.deepEqual(missing, []);
    assert.deepEqual(doc.paths["/healthz"]!.get!.security, [], "/healthz is public");
  });

  it("types query parameters that are numbers as integers, and describes the SSE events", () => {
    const list = doc.paths["/v1/runs"]!.get as { parameters: { name: string; schema: { type: string } }[] };
    assert.equal(list.parameters.find((p) => p.name === "limit")!.schema.type, "integer");
    const events = doc.paths["/v1/runs/{id}/events"]!.get as {
      responses: { 200: { content: Record<string, { schema: { $ref: string } }> } };
    };
    assert.equal(
      events.responses[200].content["text/event-stream"]!.schema.$ref,
      "#/components/schemas/RunEvent",
    );
    const kinds = (
      doc.components.schemas.RunEvent as { anyOf: { properties: { event: { const: string } } }[] }
    ).anyOf.map((e) => e.properties.event.const);
    assert.deepEqual(kinds, [
      "step.started",
      "step.completed",
      "step.failed",
      "step.output",
      "remediation",
      "run.waiting_for_input",
      "run.retrying",
      "run.forked",
      "run.completed",
    ]);
  });

  it("carries the same examples as the route table", () => {
    const post = doc.paths["/v1/executions"]!.post as {
      requestBody: { content: Record<string, { example: unknown }> };
    };
    assert.deepEqual(
      post.requestBody.content["application/json"]!.example,
      ROUTES.find((r) => r.operationId === "execute")!.body!.example,
    );
  });
});

describe("GET /docs", () => {
  it("is a self-contained HTML page listing every operation", async () => {
    const res = await app.request("/docs");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    const html = await res.text();
    assert.doesNotMatch(
      html,
      /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!tools\.example|mcp\.example|json-schema\.org)/,
    );
    for (const r of ROUTES) assert.ok(html.includes(`id="op-${r.operationId}"`), r.operationId);
  });
});
