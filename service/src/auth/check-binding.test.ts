import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ApiKeyRecord } from "../store/records.ts";
import { checkBinding } from "./check-binding.ts";
import { isLoopback } from "./loopback.ts";

const key = (revokedAt: number | null): ApiKeyRecord => ({
  id: "0123456789abcdef",
  tenant: "acme",
  policy: "default",
  salt: "00",
  hash: "00",
  createdAt: 0,
  revokedAt,
});
const storeWith = (keys: ApiKeyRecord[]) => ({ listApiKeys: async () => keys });

describe("checkBinding", () => {
  it("keeps a loopback host without keys and says every caller is the local tenant", async () => {
    const b = await checkBinding({ host: "127.0.0.1" }, storeWith([]));
    assert.equal(b.host, "127.0.0.1");
    assert.equal(b.level, "info");
    assert.match(b.message, /no API keys configured: listening on loopback only/);
    assert.match(b.message, /"local" tenant/);
  });

  it("falls back to 127.0.0.1 with a warning when asked to listen beyond loopback without keys", async () => {
    const b = await checkBinding({ host: "0.0.0.0" }, storeWith([key(5)]));
    assert.equal(b.host, "127.0.0.1");
    assert.equal(b.level, "warn");
    assert.match(b.message, /refusing to listen on 0\.0\.0\.0/);
  });

  it("listens where configured once an active key exists", async () => {
    const b = await checkBinding({ host: "0.0.0.0" }, storeWith([key(null), key(1)]));
    assert.deepEqual([b.host, b.level, b.activeKeys], ["0.0.0.0", "info", 1]);
    assert.match(b.message, /API keys required/);
  });
});

describe("isLoopback", () => {
  it("knows the loopback names and addresses, IPv4-mapped included", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"])
      assert.equal(isLoopback(h), true, h);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "example.com", "::ffff:10.0.0.1", "", undefined])
      assert.equal(isLoopback(h), false, String(h));
  });
});
