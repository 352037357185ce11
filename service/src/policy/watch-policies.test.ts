import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createLogger } from "../log/logger.ts";
import { PolicyRegistry } from "./policy-registry.ts";
import { watchPolicies } from "./watch-policies.ts";

function capturingLogger() {
  const lines: { msg: string; err?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean))
        lines.push(JSON.parse(l) as { msg: string });
      done();
    },
  });
  return { log: createLogger("info", sink), lines };
}

describe("watchPolicies", () => {
  it("re-reads the files on SIGHUP; an invalid file keeps the previous policies and logs why", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mend-policies-"));
    writeFileSync(join(dir, "default.yaml"), "name: default\nbudgets: { iterations: 5 }\n");
    const { log, lines } = capturingLogger();
    const registry = await PolicyRegistry.load(dir, log);
    const before = registry.get("default")!;
    let next: (ok: boolean) => void = () => {};
    const stop = watchPolicies(registry, log, (ok) => next(ok));
    try {
      writeFileSync(join(dir, "default.yaml"), "name: default\nbudgets: { iterations: 7 }\n");
      writeFileSync(join(dir, "extra.yaml"), "name: extra\nextends: default\n");
      let reloaded = new Promise<boolean>((resolve) => (next = resolve));
      process.kill(process.pid, "SIGHUP");
      assert.equal(await reloaded, true);
      assert.equal(registry.get("default")!.budgets.iterations, 7);
      assert.notEqual(registry.get("default")!.version, before.version);
      assert.deepEqual(registry.names().sort(), ["default", "extra"]);

      const good = registry.get("default")!;
      writeFileSync(join(dir, "default.yaml"), "name: default\nbudgets: { iterations: many }\n");
      reloaded = new Promise<boolean>((resolve) => (next = resolve));
      process.kill(process.pid, "SIGHUP");
      assert.equal(await reloaded, false);
      assert.equal(registry.get("default"), good);
      const failure = lines.find((l) => l.msg.startsWith("policy reload failed"));
      assert.match(failure?.err ?? "", /default\.yaml:2: at budgets\.iterations/);
    } finally {
      stop();
    }
    assert.equal(process.listenerCount("SIGHUP"), 0);
  });
});
