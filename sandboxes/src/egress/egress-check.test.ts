// The egress decision without sockets: entry parsing, allowlist matching, resolution through an injected lookup.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allowlistCheck, allowlisted, parseAllowEntry, type EgressLookup } from "./egress-check.ts";

// no DNS: names map to loopback here, anything else fails to resolve
const lookup: EgressLookup = async (host) => {
  if (host === "api.test") return ["127.0.0.1"];
  if (host === "v6.test") return ["::1"];
  throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
};

void describe("parseAllowEntry", () => {
  void it("reads host, host:port and [v6]:port, lower-cased", () => {
    assert.deepEqual(parseAllowEntry("PyPI.Internal:443"), { host: "pypi.internal", port: 443 });
    assert.deepEqual(parseAllowEntry("api.example.com"), { host: "api.example.com" });
    assert.deepEqual(parseAllowEntry("[::1]:8080"), { host: "::1", port: 8080 });
    assert.deepEqual(parseAllowEntry("127.0.0.1:9"), { host: "127.0.0.1", port: 9 });
  });

  void it("refuses URLs, paths, empty hosts, bad ports and bad IPv6 literals", () => {
    for (const bad of ["http://x/", "x/y", "", ":80", "x:0", "x:65536", "x:", "[zz]:1", "a b", "x:80:80"]) {
      assert.throws(() => parseAllowEntry(bad), TypeError, bad);
    }
  });
});

void describe("allowlistCheck", () => {
  void it("admits only listed host:port pairs; a portless entry admits 80 and 443", async () => {
    const entries = ["api.test", "127.0.0.1:9000"].map(parseAllowEntry);
    assert.equal(allowlisted(entries, "API.test.", 443), true);
    assert.equal(allowlisted(entries, "api.test", 80), true);
    assert.equal(allowlisted(entries, "api.test", 8080), false);
    assert.equal(allowlisted(entries, "127.0.0.1", 9000), true);
    assert.equal(allowlisted(entries, "127.0.0.1", 9001), false);
    assert.equal(allowlisted(entries, "other.test", 443), false);
  });

  void it("answers the address it resolved once, and refuses with a reason otherwise", async () => {
    const check = allowlistCheck(
      ["api.test", "127.0.0.1:9000", "gone.test:80", "[::1]:81", "v6.test:82"],
      lookup,
    );
    assert.deepEqual(await check("api.test", 443), { address: "127.0.0.1" });
    assert.deepEqual(await check("127.0.0.1", 9000), { address: "127.0.0.1" });
    assert.deepEqual(await check("::1", 81), { address: "::1" });
    assert.deepEqual(await check("v6.test", 82), { address: "::1" });
    assert.deepEqual(await check("evil.test", 443), {
      denied: "evil.test:443 is not in the egress allowlist",
    });
    assert.deepEqual(await check("127.0.0.1", 22), { denied: "127.0.0.1:22 is not in the egress allowlist" });
    assert.deepEqual(await check("gone.test", 80), { denied: "gone.test did not resolve (ENOTFOUND)" });
  });

  void it("never asks the resolver about a host that is not listed", async () => {
    const asked: string[] = [];
    const check = allowlistCheck(["api.test"], async (h) => {
      asked.push(h);
      return ["127.0.0.1"];
    });
    await check("169.254.169.254", 80);
    await check("metadata.google.internal", 80);
    assert.deepEqual(asked, []);
  });
});
