// MEND_DOCKER_HOSTS, MEND_DOCKER_CERT_PATH and MEND_ENGINE_OUTAGE_MS: parsing only (tcp:// and ssh:// are not reached).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, parseDockerHosts } from "./config.ts";

void describe("MEND_DOCKER_HOSTS", () => {
  it("defaults to one engine, local, on MEND_DOCKER_SOCKET", () => {
    assert.deepEqual(loadConfig({}).dockerHosts, [{ name: "local", url: "unix:///var/run/docker.sock" }]);
    assert.deepEqual(loadConfig({ MEND_DOCKER_SOCKET: "/run/d.sock" }).dockerHosts, [
      { name: "local", url: "unix:///run/d.sock" },
    ]);
    assert.equal(loadConfig({}).engineOutageMs, undefined);
  });

  it("takes unix sockets, tcp:// and ssh:// engines, named or numbered", () => {
    const c = loadConfig({
      MEND_DOCKER_HOSTS:
        "a=unix:///var/run/docker.sock, /run/second.sock,gpu=tcp://10.0.0.2:2376,ssh://mend@box",
      MEND_DOCKER_CERT_PATH: "/etc/mend/certs",
      MEND_ENGINE_OUTAGE_MS: "5000",
    });
    assert.deepEqual(c.dockerHosts, [
      { name: "a", url: "unix:///var/run/docker.sock" },
      { name: "e2", url: "unix:///run/second.sock" },
      { name: "gpu", url: "tcp://10.0.0.2:2376" },
      { name: "e4", url: "ssh://mend@box" },
    ]);
    assert.equal(c.dockerCertPath, "/etc/mend/certs");
    assert.equal(c.engineOutageMs, 5000);
  });

  it("refuses bad lists with one line naming the variable", () => {
    for (const bad of [
      "http://x:1",
      "a=unix://",
      "a=/x.sock,a=/y.sock",
      "tcp://",
      "ssh://u:pw@h",
      ",",
      "::",
    ]) {
      assert.throws(() => loadConfig({ MEND_DOCKER_HOSTS: bad }), /MEND_DOCKER_HOSTS/, bad);
    }
    assert.throws(() => loadConfig({ MEND_ENGINE_OUTAGE_MS: "-1" }), /MEND_ENGINE_OUTAGE_MS/);
    assert.equal(typeof parseDockerHosts("x=ftp://h"), "string");
  });
});
