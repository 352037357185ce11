import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPolicies, PolicyError, resolvePolicies } from "./policy-loader.ts";
import { parsePolicyFile } from "./policy-file.ts";
import { BASE_POLICY } from "./builtin-policy.ts";
import type { PolicyFile } from "./policy-schema.ts";

const REPO_POLICIES = new URL("../../../policies/", import.meta.url).pathname;

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "mend-policies-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const files = (...fs: PolicyFile[]) => new Map(fs.map((f) => [f.name, f]));

describe("policy files", () => {
  it("loads the committed policies: default, research and data-analysis", async () => {
    const policies = await loadPolicies(REPO_POLICIES);
    assert.deepEqual([...policies.keys()].sort(), ["data-analysis", "default", "research"]);
    const research = policies.get("research")!;
    assert.equal(research.container.enabled, false);
    assert.equal(research.cache.search !== undefined && research.cache.search !== "off", true);
    const data = policies.get("data-analysis")!;
    assert.deepEqual(data.container.images, ["python"]);
    assert.ok(data.container.defaults.memoryMb > policies.get("default")!.container.defaults.memoryMb);
    assert.equal(data.container.network.python, "none");
  });

  it("gives a folder without default.yaml the built-in default policy", async () => {
    const policies = await loadPolicies(join(tmpdir(), "mend-no-such-policies-dir"));
    assert.deepEqual([...policies.keys()], ["default"]);
    assert.deepEqual(policies.get("default")!.container.max, BASE_POLICY.container.max);
  });

  it("names the file, the line, the path and what was expected when a value has the wrong type", () => {
    const text = "name: broken\ncodemode:\n  max:\n    memoryMb: lots\n";
    assert.throws(
      () => parsePolicyFile("broken.yaml", text),
      (e: unknown) =>
        e instanceof PolicyError &&
        e.message.startsWith("broken.yaml:4: at codemode.max.memoryMb:") &&
        /expected number/.test(e.message),
    );
  });

  it("lists the expected keys when a key is unknown, pointing at the key's line", () => {
    const text = "name: typo\ncontainer:\n  image: [python]\n";
    assert.throws(
      () => parsePolicyFile("typo.yaml", text),
      (e: unknown) =>
        e instanceof PolicyError &&
        e.message.startsWith("typo.yaml:3: at container:") &&
        e.message.includes('unknown key "image"') &&
        e.message.includes("images"),
    );
  });

  it("reads an egress allowlist per image and refuses a malformed host entry", () => {
    const ok = parsePolicyFile(
      "eg.yaml",
      'name: eg\ncontainer:\n  network: { python: { mode: allowlist, hosts: ["pypi.internal:443", "api.example.com", "[::1]:8080"] }, node: none }\n',
    );
    assert.deepEqual(ok.container?.network?.python, {
      mode: "allowlist",
      hosts: ["pypi.internal:443", "api.example.com", "[::1]:8080"],
    });
    assert.throws(
      () =>
        parsePolicyFile(
          "bad.yaml",
          'name: bad\ncontainer:\n  network: { python: { mode: allowlist, hosts: ["http://x/"] } }\n',
        ),
      (e: unknown) => e instanceof PolicyError && /expected host, host:port or \[v6\]:port/.test(e.message),
    );
  });

  it("rejects a remediation rule for something that is not a failure kind", () => {
    assert.throws(
      () => parsePolicyFile("r.yaml", "name: r\nremediation:\n  oom: { retries: 1 }\n"),
      /r\.yaml:3: at remediation: unknown failure kind "oom" in remediation; expected one of: out_of_memory/,
    );
  });

  it("reports YAML syntax errors with the file and line", () => {
    assert.throws(
      () => parsePolicyFile("bad.yaml", "name: bad\ntools: [unclosed\n"),
      /^PolicyError: bad\.yaml:\d+: not valid YAML/,
    );
    assert.throws(() => parsePolicyFile("bad.yaml", "name: bad\ntools: [unclosed\n"), PolicyError);
  });

  it("requires the name to be the file's name", () => {
    assert.throws(
      () => parsePolicyFile("research.yaml", "name: other\n"),
      /research\.yaml:1: at name: expected "research" \(the file's name\), got "other"/,
    );
  });

  it("refuses two files defining one policy", async () => {
    const dir = dirWith({ "a.yaml": "name: a\n", "a.yml": "name: a\n" });
    await assert.rejects(loadPolicies(dir), /a\.yml: at name: policy "a" is already defined by a\.yaml/);
  });
});

describe("extends", () => {
  it("fills every omitted value from the parent, and the parent's from the built-in base", () => {
    const p = resolvePolicies(
      files(
        { name: "default", codemode: { defaults: { memoryMb: 48 } } },
        { name: "child", extends: "default", codemode: { max: { timeoutMs: 9000 } } },
      ),
    );
    const child = p.get("child")!;
    assert.equal(child.codemode.defaults.memoryMb, 48);
    assert.equal(child.codemode.max.timeoutMs, 9000);
    assert.equal(child.codemode.max.memoryMb, BASE_POLICY.codemode.max.memoryMb);
    assert.equal(child.name, "child");
  });

  it("resolves chains of several levels, the nearest value winning, arrays replaced not concatenated", () => {
    const p = resolvePolicies(
      files(
        { name: "default", tools: { allow: ["echo", "sleep"] } },
        { name: "mid", extends: "default", tools: { allow: ["echo"] }, limits: { requestsPerSecond: 5 } },
        { name: "leaf", extends: "mid", limits: { burst: 9 } },
      ),
    );
    const leaf = p.get("leaf")!;
    assert.deepEqual(leaf.tools.allow, ["echo"]);
    // The base's quotas are the defaults beneath every chain.
    assert.deepEqual(leaf.limits, { ...BASE_POLICY.limits, requestsPerSecond: 5, burst: 9 });
  });

  it("versions each policy by its resolved content, so a parent's change changes the child's version", () => {
    const a = resolvePolicies(files({ name: "default" }, { name: "c", extends: "default" }));
    const b = resolvePolicies(
      files({ name: "default", budgets: { iterations: 3 } }, { name: "c", extends: "default" }),
    );
    assert.match(a.get("c")!.version, /^[0-9a-f]{12}$/);
    assert.notEqual(a.get("c")!.version, b.get("c")!.version);
    assert.equal(
      a.get("c")!.version,
      resolvePolicies(files({ name: "default" }, { name: "c", extends: "default" })).get("c")!.version,
    );
  });

  it("refuses a cycle and shows it", () => {
    assert.throws(
      () => resolvePolicies(files({ name: "a", extends: "b" }, { name: "b", extends: "a" })),
      (e: unknown) => e instanceof PolicyError && /at extends: cycle a → b → a/.test(e.message),
    );
    assert.throws(
      () => resolvePolicies(files({ name: "self", extends: "self" })),
      /self\.yaml: at extends: cycle self → self/,
    );
  });

  it("refuses an unknown parent, listing the known ones", () => {
    assert.throws(
      () => resolvePolicies(files({ name: "default" }, { name: "x", extends: "nope" })),
      /x\.yaml: at extends: expected one of default, x, got "nope"/,
    );
  });

  it("refuses a default above its ceiling once the parent's values are applied", async () => {
    const dir = dirWith({
      "default.yaml": "name: default\n",
      "big.yaml": "name: big\nextends: default\ncontainer:\n  defaults: { memoryMb: 4096 }\n",
    });
    await assert.rejects(
      loadPolicies(dir),
      /big\.yaml: at container\.defaults\.memoryMb: expected at most 2048 \(container\.max\.memoryMb, after extends\), got 4096/,
    );
  });
});
