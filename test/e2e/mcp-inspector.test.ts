// The MCP endpoint driven by the MCP Inspector's CLI (installed from the npm registry), as a user would.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { startService, type ServiceProcess } from "../support/service-process.ts";

const inspectorPkg = createRequire(import.meta.url).resolve("@modelcontextprotocol/inspector/package.json");
const CLI = join(dirname(inspectorPkg), "cli/build/cli.js");

let svc: ServiceProcess;
before(async () => {
  svc = await startService();
});
after(async () => {
  await svc.stop();
});

/** Runs `mcp-inspector --cli <url> --transport http ...` and parses its JSON output. */
async function inspector(...args: string[]): Promise<any> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [CLI, "--cli", `${svc.url}/mcp`, "--transport", "http", ...args],
    { timeout: 60_000 },
  );
  return JSON.parse(stdout.slice(stdout.indexOf("{")));
}

describe("the MCP Inspector CLI against /mcp", () => {
  it("lists Mend's tools", async () => {
    const out = await inspector("--method", "tools/list");
    const names = (out.tools as { name: string }[]).map((t) => t.name).sort();
    for (const n of ["answer_run", "get_run", "list_tools", "run_code", "run_orchestration"])
      assert.ok(names.includes(n), n);
  });

  it("runs orchestration code and returns its value", async () => {
    const out = await inspector(
      "--method",
      "tools/call",
      "--tool-name",
      "run_orchestration",
      "--tool-arg",
      "code=return 6 * 7",
    );
    assert.notEqual(out.isError, true);
    assert.match(JSON.stringify(out.content), /42/);
  });

  it("returns a failing script as a result carrying the structured failure", async () => {
    const out = await inspector(
      "--method",
      "tools/call",
      "--tool-name",
      "run_orchestration",
      "--tool-arg",
      "code=throw new Error('boom')",
    );
    assert.notEqual(out.isError, true, "a failed execution is a result, not a protocol error");
    assert.equal(out.structuredContent.status, "failed");
    assert.equal(out.structuredContent.failure.kind, "runtime_error");
    assert.equal(out.structuredContent.failure.location.line, 1);
  });
});
