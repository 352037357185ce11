import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PolicyError, resolvePolicies } from "./policy-loader.ts";
import { parsePolicyFile } from "./policy-file.ts";
import { admitCodeMode, admitContainer, allowedTools, toolAllowed } from "./resolve-request.ts";
import type { Policy, PolicyFile } from "./policy-schema.ts";

function policy(file: Omit<PolicyFile, "name"> = {}): Policy {
  return resolvePolicies(new Map([["p", { name: "p", ...file }]])).get("p")!;
}

describe("admitCodeMode", () => {
  it("takes the policy's defaults for every omitted limit and quickjs as the engine", () => {
    const p = policy({ codemode: { defaults: { memoryMb: 40, timeoutMs: 1234 } } });
    const r = admitCodeMode(p, {});
    assert.ok(r.ok);
    assert.equal(r.value.engine, "quickjs");
    assert.deepEqual(r.value.limits, p.codemode.defaults);
    assert.equal(r.value.limits.memoryMb, 40);
  });

  it("keeps requested values at or under the ceiling", () => {
    const p = policy({ codemode: { max: { memoryMb: 100 } } });
    const r = admitCodeMode(p, { limits: { memoryMb: 100, timeoutMs: 50 } });
    assert.ok(r.ok);
    assert.equal(r.value.limits.memoryMb, 100);
    assert.equal(r.value.limits.timeoutMs, 50);
  });

  it("answers a request over the ceiling with a policy_violation naming the rule and the allowed maximum", () => {
    const p = policy({ codemode: { max: { memoryMb: 100 } } });
    const r = admitCodeMode(p, { limits: { memoryMb: 101 } });
    assert.ok(!r.ok);
    assert.equal(r.failure.kind, "policy_violation");
    assert.equal(r.failure.layer, "policy");
    assert.equal(r.failure.retryable, false);
    assert.equal(r.failure.rule, "codemode.max.memoryMb");
    assert.deepEqual(r.failure.limits, { memoryMb: 100 });
    assert.match(r.failure.message, /memoryMb=101 is over the maximum of 100 allowed by policy "p"/);
    assert.equal(r.failure.remedy?.memoryMb, 100);
  });

  it("refuses an engine the policy does not list, and code-mode altogether when disabled", () => {
    const r = admitCodeMode(policy({ codemode: { engines: ["quickjs"] } }), { engine: "v8" });
    assert.ok(!r.ok);
    assert.equal(r.failure.rule, "codemode.engines");
    const off = admitCodeMode(policy({ codemode: { enabled: false } }), {});
    assert.ok(!off.ok);
    assert.equal(off.failure.rule, "codemode.enabled");
  });

  it("runs Python on monty by default, and only there", () => {
    const r = admitCodeMode(policy(), { language: "python" });
    assert.ok(r.ok);
    assert.equal(r.value.engine, "monty");
    assert.equal(r.value.language, "python");
    const wrong = admitCodeMode(policy(), { language: "python", engine: "quickjs" });
    assert.ok(!wrong.ok);
    assert.equal(wrong.failure.rule, "codemode.engines");
    assert.match(wrong.failure.message, /python runs on monty/);
    const js = admitCodeMode(policy(), { engine: "monty" });
    assert.ok(!js.ok, "monty does not run JavaScript");
  });

  it("refuses a language the policy does not list, and Python when monty is not an allowed engine", () => {
    const noPython = admitCodeMode(policy({ codemode: { languages: ["javascript"] } }), {
      language: "python",
    });
    assert.ok(!noPython.ok);
    assert.equal(noPython.failure.rule, "codemode.languages");
    assert.match(noPython.failure.message, /allowed: javascript/);
    const noMonty = admitCodeMode(policy({ codemode: { engines: ["quickjs"] } }), { language: "python" });
    assert.ok(!noMonty.ok);
    assert.equal(noMonty.failure.rule, "codemode.engines");
  });
});

describe("container.runtime", () => {
  it("is runc unless the policy says otherwise", () => {
    const r = admitContainer(policy(), { image: "python" });
    assert.ok(r.ok);
    assert.equal(r.value.runtime, "runc");
  });

  it("one runtime for every image, or one per image (images not named run on runc)", () => {
    const all = admitContainer(policy({ container: { runtime: "runsc" } }), { image: "node" });
    assert.ok(all.ok);
    assert.equal(all.value.runtime, "runsc");
    const p = policy({ container: { runtime: { python: "runsc" } } });
    const py = admitContainer(p, { image: "python" });
    const sh = admitContainer(p, { image: "shell" });
    assert.ok(py.ok && sh.ok);
    assert.equal(py.value.runtime, "runsc");
    assert.equal(sh.value.runtime, "runc");
  });

  it("a policy file naming another runtime is refused with the path", () => {
    assert.throws(
      () => parsePolicyFile("p.yaml", "name: p\ncontainer:\n  runtime: kata\n"),
      (e: unknown) => e instanceof PolicyError && /container\.runtime/.test(e.message),
    );
    assert.equal(parsePolicyFile("p.yaml", "name: p\ncontainer:\n  runtime: { python: runsc }\n").name, "p");
  });
});

describe("admitContainer", () => {
  it("fills defaults and network none", () => {
    const p = policy();
    const r = admitContainer(p, { image: "python" });
    assert.ok(r.ok);
    assert.deepEqual(r.value.limits, { ...p.container.defaults, network: "none" });
  });

  it("grants the policy's egress allowlist, and no network when the request asks for none", () => {
    const hosts = ["pypi.internal:443", "127.0.0.1:8080"];
    const p = policy({ container: { network: { python: { mode: "allowlist", hosts } } } });
    const r = admitContainer(p, { image: "python" });
    assert.ok(r.ok);
    assert.deepEqual(r.value.limits.network, { mode: "allowlist", hosts });
    const same = admitContainer(p, { image: "python", limits: { network: "allowlist" } });
    assert.ok(same.ok);
    assert.deepEqual(same.value.limits.network, { mode: "allowlist", hosts });
    const none = admitContainer(p, { image: "python", limits: { network: "none" } });
    assert.ok(none.ok);
    assert.equal(none.value.limits.network, "none");
    const refused = admitContainer(policy(), { image: "python", limits: { network: "allowlist" } });
    assert.ok(!refused.ok);
    assert.equal(refused.failure.rule, "container.network.python");
  });

  it("refuses containers when the policy disables them, naming the rule", () => {
    const r = admitContainer(policy({ container: { enabled: false } }), { image: "python" });
    assert.ok(!r.ok);
    assert.equal(r.failure.kind, "policy_violation");
    assert.equal(r.failure.rule, "container.enabled");
    assert.match(r.failure.message, /does not allow container executions/);
  });

  it("refuses an image not in the list, listing the allowed ones", () => {
    const r = admitContainer(policy({ container: { images: ["python"] } }), { image: "node" });
    assert.ok(!r.ok);
    assert.equal(r.failure.rule, "container.images");
    assert.match(r.failure.message, /allowed: python/);
  });

  it("answers each limit over its ceiling with its own rule and maximum", () => {
    const p = policy({ container: { max: { cpus: 1, pids: 100 } } });
    const cpus = admitContainer(p, { image: "python", limits: { cpus: 1.5 } });
    assert.ok(!cpus.ok);
    assert.equal(cpus.failure.rule, "container.max.cpus");
    assert.deepEqual(cpus.failure.limits, { cpus: 1 });
    const pids = admitContainer(p, { image: "python", limits: { pids: 101 } });
    assert.ok(!pids.ok);
    assert.equal(pids.failure.rule, "container.max.pids");
  });
});

describe("tool globs", () => {
  const p = policy({
    tools: { allow: ["echo", "kv.*", "github.**"], deny: ["kv.delete", "github.admin.**"] },
  });

  it("allows exact names and one-segment globs, not deeper names", () => {
    assert.equal(toolAllowed(p, "echo"), true);
    assert.equal(toolAllowed(p, "kv.get"), true);
    assert.equal(toolAllowed(p, "kv.get.raw"), false);
    assert.equal(toolAllowed(p, "kvx"), false);
    assert.equal(toolAllowed(p, "sleep"), false);
  });

  it("allows any depth under **, and deny wins over allow", () => {
    assert.equal(toolAllowed(p, "github.repos.search"), true);
    assert.equal(toolAllowed(p, "kv.delete"), false);
    assert.equal(toolAllowed(p, "github.admin.users.delete"), false);
  });

  it("allows the tenant's own tools of a `registered` source, and deny still removes them", () => {
    const q = policy({ tools: { allow: ["echo"], registered: ["http", "mcp"], deny: ["github.admin.*"] } });
    assert.equal(toolAllowed(q, "crm.lookup", "http"), true);
    assert.equal(toolAllowed(q, "github.search", "mcp"), true);
    assert.equal(toolAllowed(q, "github.admin.delete", "mcp"), false);
    assert.equal(toolAllowed(q, "crm.lookup"), false, "a built-in of that name is not registered");
    const httpOnly = policy({ tools: { allow: ["echo"], registered: ["http"] } });
    assert.equal(toolAllowed(httpOnly, "github.search", "mcp"), false);
    assert.equal(toolAllowed(policy({ tools: { allow: ["echo"] } }), "crm.lookup", "http"), false);
  });

  it("treats regex characters in patterns literally", () => {
    const q = policy({ tools: { allow: ["a+b", "x.(y)"] } });
    assert.equal(toolAllowed(q, "a+b"), true);
    assert.equal(toolAllowed(q, "aab"), false);
    assert.equal(toolAllowed(q, "x.(y)"), true);
  });

  it("narrows a requested tool list to what the policy allows, never beyond it", () => {
    assert.deepEqual(allowedTools(p, ["echo", "sleep", "kv.get", "kv.delete"]), ["echo", "kv.get"]);
    assert.deepEqual(allowedTools(p, ["echo", "sleep", "kv.get"], ["sleep", "kv.get"]), ["kv.get"]);
  });
});
