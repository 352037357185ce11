// The bundle's start prunes its compile cache folder: seeded as an upgrade and a kill -9 during a write
// leave it (an older build's marker and kept policy, an interrupted write's temporary file), it holds only
// the current build's files of Mend once the service has written its cache.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DIST } from "../../scripts/build-dist.ts";
import { startService, useDist } from "../support/service-process.ts";

before(async () => {
  await useDist();
});

void describe("the compile cache of dist/", () => {
  void it("holds only the current build's files of Mend after a start: older builds' and interrupted writes' are gone", async () => {
    const base = mkdtempSync(join(tmpdir(), "mend-compile-cache-"));
    const inputs = (JSON.parse(readFileSync(`${DIST}/build.json`, "utf8")) as { inputs: string }).inputs;
    const build = createHash("sha256").update(inputs).update(process.version).digest("hex").slice(0, 16);
    const first = await startService({ NODE_COMPILE_CACHE: base });
    let svc = first;
    try {
      await first.stop(); // Node's folder for its version now exists: seed it
      const dir = join(base, readdirSync(base)[0]!);
      const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
      const seeded = [
        "mend-0123456789abcdef-serving",
        "mend-0123456789abcdef-policy-0123456789abcdef0123456789abcdef.json",
        `mend-${build}-policy-0123456789abcdef0123456789abcdef.json.${dead}.tmp`,
      ];
      for (const f of seeded) writeFileSync(join(dir, f), "{");
      svc = await startService({ NODE_COMPILE_CACHE: base }, first.dataDir);
      const mend = () => readdirSync(dir).filter((f) => f.startsWith("mend-"));
      const deadline = Date.now() + 60_000;
      const done = () => !mend().some((f) => seeded.includes(f)) && mend().includes(`mend-${build}-serving`);
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const kept = mend();
      assert.deepEqual(
        kept.filter((f) => !f.startsWith(`mend-${build}-`) || f.endsWith(".tmp")),
        [],
        kept.join(" "),
      );
      assert.ok(kept.includes(`mend-${build}-serving`), kept.join(" "));
      assert.ok(
        kept.some((f) => f.startsWith(`mend-${build}-policy-`)),
        kept.join(" "),
      );
    } finally {
      await svc.stop();
      rmSync(first.dataDir, { recursive: true, force: true });
      rmSync(base, { recursive: true, force: true });
    }
  });
});
