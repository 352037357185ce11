// The self-healing benchmark in its reduced form (one hosted run per fault): outcomes, never timings.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startHealService, type HealService } from "../bench/heal-bench.ts";
import { healFaults } from "../support/heal-faults.ts";

describe("self-healing, one run per fault", () => {
  let heal: HealService;
  before(async () => {
    heal = await startHealService();
  });
  after(async () => {
    await heal?.close();
  });

  for (const fault of healFaults()) {
    it(`${fault.name}: healed without a human, visible in the journal, no container left`, async () => {
      const v = await heal.runOnce(fault);
      assert.equal(v.status, "succeeded", JSON.stringify(v));
      assert.equal(v.healed, true);
      assert.equal(v.inJournal, true, "the fault is in the journal");
      assert.notEqual(v.healer, "none");
      if (v.toldModel !== null)
        assert.equal(v.toldModel, true, "the model's next request carries the failure");
      if (v.rightRemedy !== null) assert.equal(v.rightRemedy, true, "the remedy fits the kind");
      if (fault.name === "container OOM" || fault.name === "disk full") assert.equal(v.healer, "policy");
      if (fault.name.startsWith("LLM 429")) assert.equal(v.healer, "provider");
      assert.equal(v.containersLeft, 0);
    });
  }
});
