import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, ConfigError } from "./config.ts";

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.host, "127.0.0.1");
    assert.match(c.dataDir, /\/data$/);
    assert.equal(c.logLevel, "info");
    assert.equal(c.dockerSocket, "/var/run/docker.sock");
    assert.equal(c.bodyLimitBytes, 5 * 1024 * 1024);
    assert.equal(c.heapGrowthPercent, 100);
  });

  it("reads MEND_HEAP_GROWTH_PERCENT: 0 leaves V8's own factor, a negative or fractional one is refused", () => {
    assert.equal(loadConfig({ MEND_HEAP_GROWTH_PERCENT: "0" }).heapGrowthPercent, 0);
    assert.equal(loadConfig({ MEND_HEAP_GROWTH_PERCENT: "250" }).heapGrowthPercent, 250);
    assert.throws(() => loadConfig({ MEND_HEAP_GROWTH_PERCENT: "-1" }), /MEND_HEAP_GROWTH_PERCENT/);
    assert.throws(() => loadConfig({ MEND_HEAP_GROWTH_PERCENT: "1.5" }), /MEND_HEAP_GROWTH_PERCENT/);
  });

  it("reads MEND_* variables and ignores others", () => {
    const c = loadConfig({ MEND_PORT: "9001", MEND_HOST: "0.0.0.0", MEND_LOG_LEVEL: "debug", PORT: "1" });
    assert.equal(c.port, 9001);
    assert.equal(c.host, "0.0.0.0");
    assert.equal(c.logLevel, "debug");
  });

  it("reads the destination and key-file settings: loopback refused unless MEND_NETWORK_ALLOW_LOOPBACK=1, paths made absolute", () => {
    const d = loadConfig({});
    assert.deepEqual([d.networkAllowLoopback, d.hostsFile, d.secretKeyFile], [false, undefined, undefined]);
    const c = loadConfig({
      MEND_NETWORK_ALLOW_LOOPBACK: "1",
      MEND_HOSTS_FILE: "hosts",
      MEND_SECRET_KEY_FILE: "keys/secret.key",
    });
    assert.equal(c.networkAllowLoopback, true);
    assert.match(c.hostsFile!, /^\/.*\/hosts$/);
    assert.match(c.secretKeyFile!, /^\/.*\/keys\/secret\.key$/);
    assert.throws(() => loadConfig({ MEND_NETWORK_ALLOW_LOOPBACK: "yes" }), /MEND_NETWORK_ALLOW_LOOPBACK/);
  });

  it("names the bad variable in a one-line error", () => {
    assert.throws(
      () => loadConfig({ MEND_PORT: "abc" }),
      (e: unknown) => e instanceof ConfigError && /MEND_PORT/.test(e.message) && !e.message.includes("\n"),
    );
    assert.throws(() => loadConfig({ MEND_LOG_LEVEL: "loud" }), /MEND_LOG_LEVEL/);
    assert.throws(() => loadConfig({ MEND_PORT: "70000" }), /MEND_PORT/);
    assert.throws(() => loadConfig({ MEND_CRASHPOINT: "nowhere" }), /MEND_CRASHPOINT/);
  });

  it('says what is wrong in English (zod\'s messages, not a bare "Invalid input")', () => {
    const message = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (e) {
        return (e as Error).message;
      }
      return "accepted";
    };
    assert.equal(
      message({ MEND_PORT: "70000" }),
      'invalid MEND_PORT="70000": Too big: expected number to be <=65535',
    );
    assert.equal(
      message({ MEND_POOL_SIZE: "1.5" }),
      'invalid MEND_POOL_SIZE="1.5": Invalid input: expected int, received number',
    );
    assert.equal(
      message({ MEND_LLM_PROVIDER: "gemini" }),
      'invalid MEND_LLM_PROVIDER="gemini": Invalid option: expected one of "openai"|"anthropic"',
    );
    assert.equal(
      message({ MEND_DOCKER_HOSTS: "ftp://x" }),
      'invalid MEND_DOCKER_HOSTS="ftp://x": engine e1: unsupported scheme ftp: (unix://, tcp://, ssh://)',
    );
    assert.match(
      message({ MEND_MCP_SERVERS: "{bad" }),
      /^invalid MEND_MCP_SERVERS="\{bad": not valid JSON: /,
    );
    // JSON that happens to look like a parse result is the value, not an error.
    assert.deepEqual(loadConfig({ MEND_MCP_SERVERS: '{"problem":"x"}' }).mcpServers, { problem: "x" });
  });

  it("selects PostgreSQL with a postgres:// MEND_DATABASE_URL and SQLite without one", () => {
    assert.equal(loadConfig({}).databaseUrl, undefined);
    const url = "postgres://mend:secret@db.internal:5432/mend";
    assert.equal(loadConfig({ MEND_DATABASE_URL: url }).databaseUrl, url);
    assert.equal(loadConfig({ MEND_DATABASE_URL: "postgresql://h/db" }).databaseUrl, "postgresql://h/db");
  });

  it("refuses another kind of database URL without echoing its credentials", () => {
    assert.throws(
      () => loadConfig({ MEND_DATABASE_URL: "mysql://root:hunter2@h/db" }),
      (e: unknown) =>
        e instanceof ConfigError && /MEND_DATABASE_URL/.test(e.message) && !e.message.includes("hunter2"),
    );
    assert.throws(() => loadConfig({ MEND_DATABASE_URL: "not a url" }), /MEND_DATABASE_URL/);
  });
});
