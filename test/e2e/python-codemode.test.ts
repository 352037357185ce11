// Python code-mode over HTTP against the real service: executions, policy admission, GET /v1/tools.pyi checked
// by CPython in the python sandbox image, and the inspector and export showing the failing Python line.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startService, type ServiceProcess } from "../support/service-process.ts";
import { call } from "../support/http-json.ts";
import { openPolicyDir } from "../support/tool-test-kit.ts";
import { startToolHttpServer, type ToolHttpServer } from "../support/tool-http-server.ts";

let svc: ServiceProcess;
let srv: ToolHttpServer;
before(async () => {
  srv = await startToolHttpServer({
    "/user": ({ body }) => ({
      status: 200,
      json: { id: `u-${(body as { email: string }).email}`, tags: ["a"] },
    }),
  });
  svc = await startService({ MEND_POLICIES_DIR: openPolicyDir() });
});
after(async () => {
  await svc.stop();
  await srv.close();
});

const api = (method: string, path: string, body?: unknown) => call(svc.url, method, path, body);
const python = (code: string, extra: Record<string, unknown> = {}) =>
  api("POST", "/v1/executions", { sandbox: "codemode", language: "python", code, ...extra });

describe("Python code-mode over HTTP", () => {
  it("runs a script that calls tools with keyword arguments; the last expression is the result", async () => {
    const r = await python(
      "a = tools.echo(text='hi')\nb = tools.kv.set(key='k', value=[1, 2])\n[a['text'], tools.kv.get(key='k')]",
    );
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "succeeded", JSON.stringify(r.body.failure));
    assert.deepEqual(r.body.result, ["hi", { key: "k", value: [1, 2], found: true }]);
    assert.deepEqual(
      r.body.toolCalls.map((c: { tool: string }) => c.tool),
      ["echo", "kv.set", "kv.get"],
    );
  });

  it("returns failures as values with the user's line, the resolved engine in the journal", async () => {
    const r = await python(
      "total = 0\nfor i in range(3):\n    total += tools.echo(text='x')['missing']\ntotal",
    );
    assert.equal(r.status, 200);
    assert.equal(r.body.status, "failed");
    assert.equal(r.body.failure.kind, "runtime_error");
    assert.equal(r.body.failure.location.line, 3);
    assert.equal(r.body.failure.cause.type, "KeyError");
    const steps = await api("GET", `/v1/runs/${r.body.runId}/steps`);
    assert.equal(steps.body[0].input.language, "python");
  });

  it("refuses Python on a JavaScript engine as a policy_violation", async () => {
    const r = await python("1", { engine: "quickjs" });
    assert.equal(r.status, 200);
    assert.equal(r.body.failure.kind, "policy_violation");
    assert.equal(r.body.failure.rule, "codemode.engines");
  });

  it("serves GET /v1/tools.pyi that CPython accepts, with the registered tool's TypedDict result", async () => {
    const registered = await api("POST", "/v1/tools", {
      name: "crm.find_user",
      description: "Finds a user by e-mail.",
      inputSchema: { type: "object", properties: { email: { type: "string" } }, required: ["email"] },
      outputSchema: {
        type: "object",
        properties: { id: { type: "string" }, tags: { type: "array", items: { type: "string" } } },
        required: ["id"],
      },
      endpoint: `${srv.url}/user`,
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const res = await fetch(`${svc.url}/v1/tools.pyi`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const pyi = await res.text();
    assert.match(pyi, /def find_user\(self, \*, email: str\) -> CrmFindUserResult:/);
    // Parsed and executed by python3 in the sandbox image: valid syntax, every annotation resolves.
    const check = await api("POST", "/v1/executions", {
      sandbox: "container",
      image: "python",
      files: [{ path: "tools_stub.py", content: pyi }],
      code: [
        "import ast, runpy, typing",
        "ast.parse(open('tools_stub.py').read())",
        "ns = runpy.run_path('tools_stub.py')",
        "hints = typing.get_type_hints(ns['CrmFindUserResult'])",
        "print(sorted(hints), ns['_ToolsCrm'].find_user.__doc__.strip().splitlines()[0])",
      ].join("\n"),
    });
    assert.equal(check.body.status, "succeeded", JSON.stringify(check.body));
    assert.equal(check.body.stdout, "['id', 'tags'] Finds a user by e-mail.\n");
    // And the stub's spelling is how a script calls it.
    const r = await python("u = tools.crm.find_user(email='x@y')\nu['id']");
    assert.equal(r.body.result, "u-x@y", JSON.stringify(r.body.failure));
  });

  it("shows the Python script in the inspector with the failing line marked, and exports it", async () => {
    const r = await python("import json\nitems = tools.echo(text='a')\nitems['nope']");
    assert.equal(r.body.failure.location.line, 3);
    const page = await fetch(`${svc.url}/ui/runs/${r.body.runId}/steps/${r.body.stepSeq}`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<span class="tok-kw">import<\/span> json/);
    assert.match(html, /class="line failing" data-line="3" id="failing-line"/);
    assert.match(html, /line 3:1: runtime_error: Uncaught KeyError/);
    const exported = await fetch(`${svc.url}/ui/runs/${r.body.runId}/export.jsonl`);
    const [step] = (await exported.text())
      .trim()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as {
            input: { language: string; code: string };
            failure: { location: { line: number } };
          },
      );
    assert.equal(step!.input.language, "python");
    assert.equal(step!.input.code.split("\n")[2], "items['nope']");
    assert.equal(step!.failure.location.line, 3);
  });
});
