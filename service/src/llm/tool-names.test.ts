import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeToolName, encodeToolName, PROVIDER_TOOL_NAME, toolNameDecoder } from "./tool-names.ts";

describe("tool names for providers", () => {
  it("encodes dots as double underscores and decodes them back", () => {
    assert.equal(encodeToolName("github.search"), "github__search");
    assert.equal(decodeToolName("github__search"), "github.search");
    assert.equal(encodeToolName("run_code"), "run_code");
    assert.equal(decodeToolName("run_code", ["run_code"]), "run_code");
  });

  it("produces names every provider accepts, even from odd or long names", () => {
    const names = ["mcp.server/tool:v2", "a".repeat(200), "a".repeat(199) + "b", "ünïcode.tool", ""];
    const encoded = names.map(encodeToolName);
    for (const e of encoded) assert.match(e, PROVIDER_TOOL_NAME);
    assert.equal(new Set(encoded).size, names.length, "distinct names stay distinct");
  });

  it("decodes through the offered tools, so shortened and escaped names round-trip", () => {
    const offered = ["mcp.server/tool:v2", "x".repeat(100) + ".y", "kv.get"];
    const decode = toolNameDecoder(offered);
    for (const name of offered) {
      assert.equal(decode(encodeToolName(name)), name);
      assert.equal(decodeToolName(encodeToolName(name), offered), name);
    }
  });

  it("keeps names that were never offered readable", () => {
    assert.equal(toolNameDecoder(["kv.get"])("launch__rockets"), "launch.rockets");
    assert.equal(toolNameDecoder([])("launch_rockets"), "launch_rockets");
  });
});
