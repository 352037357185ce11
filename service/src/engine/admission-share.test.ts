// A replica's share of a tenant's limits: limit ÷ live replicas, at least 1, and the whole limit alone.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Admission, share } from "./admission.ts";
import { Rejection } from "../core/rejection.ts";
import type { Caller } from "../core/caller.ts";

const who = (limits: Record<string, number>) =>
  ({ tenant: "t", keyId: null, policy: { limits } }) as unknown as Caller;

describe("per-replica shares of a tenant's limits", () => {
  it("divides a limit by the live replicas, at least 1 each", () => {
    assert.equal(share(64, 1), 64);
    assert.equal(share(64, 3), 21);
    assert.equal(share(3, 3), 1);
    assert.equal(share(2, 3), 1);
  });

  it("admits a replica's share of concurrent executions, and the whole limit once it is alone", async () => {
    let live = 3;
    const admission = new Admission({ replicas: () => live });
    const caller = who({ concurrentExecutions: 6 });
    const held = [await admission.execution(caller, "refuse"), await admission.execution(caller, "refuse")];
    await assert.rejects(
      admission.execution(caller, "refuse"),
      (e) => e instanceof Rejection && /share/.test(e.message),
    );
    live = 1;
    held.push(await admission.execution(caller, "refuse"));
    for (const release of held) release();
  });

  it("divides the request rate and burst", () => {
    const admission = new Admission({ replicas: () => 2 });
    const caller = who({ requestsPerSecond: 0.001, burst: 4 });
    admission.request(caller);
    admission.request(caller);
    assert.throws(() => admission.request(caller), Rejection);
  });
});
