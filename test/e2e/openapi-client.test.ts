// The OpenAPI document as a typed client sees it: openapi-typescript generates the types, openapi-fetch
// calls the API with them, and the TypeScript checker proves the calls typed (integers, unions, problems).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import openapiTS, { astToString } from "openapi-typescript";
import createClient from "openapi-fetch";
import { loadConfig } from "../../service/src/config/config.ts";
import { createLogger } from "../../service/src/log/logger.ts";
import { createServices } from "../../service/src/services/services.ts";
import { createApp } from "../../service/src/edge/app.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

let services: Awaited<ReturnType<typeof createServices>>;
let app: ReturnType<typeof createApp>;
let dir: string;

before(async () => {
  const config = loadConfig({
    MEND_DATA_DIR: mkdtempSync(join(tmpdir(), "mend-openapi-client-")),
    MEND_LOG_LEVEL: "silent",
  });
  services = await createServices(config, createLogger("silent"), { containers: false });
  app = createApp(services);
  const doc = (await (await app.request("/v1/openapi.json")).json()) as Record<string, unknown>;
  // Inside the repository, so the generated project resolves openapi-fetch from its node_modules.
  mkdirSync(join(ROOT, "node_modules/.cache"), { recursive: true });
  dir = mkdtempSync(join(ROOT, "node_modules/.cache/mend-openapi-client-"));
  writeFileSync(join(dir, "api.ts"), astToString(await openapiTS(doc as never)));
});
after(async () => services.dispose());

/** Type-checks `source` (a module beside the generated api.ts) strictly; returns the diagnostics. */
function typeCheck(name: string, source: string): string[] {
  const file = join(dir, name);
  writeFileSync(file, source);
  const program = ts.createProgram([file], {
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    types: [],
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file ? `${d.file.fileName.slice(dir.length + 1)}:` : ""} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`,
    );
}

const HEADER = `import createClient from "openapi-fetch";
import type { paths } from "./api.ts";
const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8080" });
`;

describe("a client generated with openapi-typescript and openapi-fetch", () => {
  it("type-checks typed calls: integer query parameters, execution unions, file references, problems", () => {
    const errors = typeCheck(
      "calls.ts",
      `${HEADER}
export async function calls(): Promise<unknown[]> {
  const page = await client.GET("/v1/runs", { params: { query: { limit: 2, status: "running" } } });
  const first: string | undefined = page.data?.items[0]?.id;
  const next: string | null | undefined = page.data?.nextCursor;
  const ex = await client.POST("/v1/executions", {
    body: { sandbox: "codemode", code: "return 1", limits: { memoryMb: 32, timeoutMs: 500 } },
  });
  const status: "succeeded" | "failed" | undefined = ex.data?.status;
  const detail: string | undefined = ex.error?.detail;
  const step = await client.POST("/v1/runs/{id}/steps", {
    params: { path: { id: "run_1" } },
    body: {
      key: "k",
      action: { type: "container", image: "python", code: "print(1)", files: [{ path: "a.csv", blob: "0".repeat(64) }] },
      onInputMismatch: "replay",
    },
  });
  const resumed = await client.POST("/v1/runs/{id}/resume", { params: { path: { id: "run_1" } } });
  const retryAt: string | undefined = resumed.data?.retryAt;
  const answer = await client.POST("/v1/relay/executions/{id}/results/{seq}", {
    params: { path: { id: "rx_1", seq: 3 } },
    body: { ok: true, value: { hits: 2 } },
  });
  const events = await client.GET("/v1/runs/{id}/events", { params: { path: { id: "run_1" }, query: { lastEventId: 7 } } });
  return [first, next, status, detail, step.data?.replayed, retryAt, answer.response.status, events.response];
}
`,
    );
    assert.deepEqual(errors, []);
  });

  it("refuses at compile time a string where the API takes an integer, and an unknown sandbox", () => {
    const errors = typeCheck(
      "wrong.ts",
      `${HEADER}
export async function wrong(): Promise<void> {
  await client.GET("/v1/runs", { params: { query: { limit: "2" } } });
  await client.POST("/v1/executions", { body: { sandbox: "vm", code: "1" } });
}
`,
    );
    assert.equal(errors.length, 2, errors.join("\n"));
    assert.match(errors[0]!, /'string' is not assignable to type 'number'/);
    assert.match(errors[1]!, /"vm"/);
  });

  it("calls the service with openapi-fetch: an integer limit is served, a union mistake names its field", async () => {
    const client = createClient<any>({
      baseUrl: "http://127.0.0.1",
      fetch: async (req: Request) => app.request(req),
    });
    await client.POST("/v1/runs", { body: { mode: "client" } });
    await client.POST("/v1/runs", { body: { mode: "client" } });
    const page = await client.GET("/v1/runs", { params: { query: { limit: 1 } } });
    assert.equal(page.response.status, 200, JSON.stringify(page.error));
    assert.equal((page.data as { items: unknown[] }).items.length, 1);
    const bad = await client.GET("/v1/runs", { params: { query: { limit: 500 } } });
    assert.equal(bad.response.status, 400);
    assert.equal((bad.error as { errors: { path: string }[] }).errors[0]!.path, "/limit");
    const vm = await client.POST("/v1/executions", { body: { sandbox: "vm", code: "1" } });
    assert.equal(vm.response.status, 400);
    const problem = vm.error as { detail: string; errors: { path: string; message: string }[] };
    assert.deepEqual(problem.errors, [
      { path: "/sandbox", message: 'Expected one of "codemode", "container", got "vm"' },
    ]);
    assert.match(problem.detail, /\/sandbox/);
  });
});
