// Canonical JSON keys steps by arguments: equal values must give equal text whatever the key order.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { canonicalJson, sha256Hex } from "./canonical-json.ts";

describe("canonicalJson", () => {
  it("sorts keys at every depth and keeps array order", () => {
    assert.equal(canonicalJson({ b: 1, a: [2, { d: 1, c: 0 }] }), '{"a":[2,{"c":0,"d":1}],"b":1}');
    assert.equal(canonicalJson([{ y: 1, x: 2 }]), canonicalJson([{ x: 2, y: 1 }]));
  });

  it("hashes with SHA-256", async () => {
    assert.equal(await sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
