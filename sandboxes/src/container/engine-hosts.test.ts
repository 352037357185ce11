// Engine addresses to dockerode options: unix sockets, tcp:// with and without TLS, ssh:// (no connection is made).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerOptionsFor } from "./engine-hosts.ts";

void describe("dockerOptionsFor", () => {
  it("unix sockets, as a URL or a path", () => {
    assert.deepEqual(dockerOptionsFor("unix:///var/run/docker.sock"), { socketPath: "/var/run/docker.sock" });
    assert.deepEqual(dockerOptionsFor("/run/d2.sock"), { socketPath: "/run/d2.sock" });
  });

  it("tcp:// is plain http without certificates and TLS with them", (t) => {
    assert.deepEqual(dockerOptionsFor("tcp://10.0.0.2:2375"), {
      protocol: "http",
      host: "10.0.0.2",
      port: 2375,
    });
    const dir = mkdtempSync(join(tmpdir(), "mend-certs-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (const f of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(dir, f), `---${f}---`);
    const tls = dockerOptionsFor("tcp://engine.internal", dir);
    assert.equal(tls.protocol, "https");
    assert.equal(tls.port, 2376);
    assert.equal(String(tls.ca), "---ca.pem---");
    assert.equal(String(tls.cert), "---cert.pem---");
    assert.equal((tls.key as Buffer).toString(), "---key.pem---");
    assert.throws(() => dockerOptionsFor("tcp://h:1", join(dir, "missing")), /ENOENT/);
  });

  it("ssh:// with user and port; other schemes are refused", () => {
    const o = dockerOptionsFor("ssh://mend@box.internal:2222") as Record<string, unknown>;
    assert.equal(o.protocol, "ssh");
    assert.equal(o.host, "box.internal");
    assert.equal(o.port, 2222);
    assert.equal(o.username, "mend");
    assert.throws(() => dockerOptionsFor("http://x:1"), /unsupported/);
  });
});
