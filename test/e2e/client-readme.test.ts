// The examples of client/README.md are programs: each ```ts block runs against a real service and must exit 0.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startService, type ServiceProcess } from "../support/service-process.ts";

const README = new URL("../../client/README.md", import.meta.url).pathname;
const CLIENT = new URL("../../client/src/index.ts", import.meta.url).pathname;

/** The ```ts blocks, with the package import pointed at the sources. */
function blocks(): { line: number; code: string }[] {
  const text = readFileSync(README, "utf8");
  const out: { line: number; code: string }[] = [];
  for (const m of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    out.push({
      line: text.slice(0, m.index).split("\n").length,
      code: m[1]!.replaceAll('"@mend/client"', JSON.stringify(CLIENT)),
    });
  }
  return out;
}

let svc: ServiceProcess;
before(async () => {
  svc = await startService();
});
after(async () => svc.stop());

describe("client/README.md", () => {
  const dir = mkdtempSync(join(tmpdir(), "mend-readme-"));
  const found = blocks();

  it("has examples", () => assert.ok(found.length >= 3));

  for (const [i, b] of found.entries()) {
    it(`runs the example at line ${b.line}`, () => {
      const file = join(dir, `example-${i}.mts`);
      writeFileSync(file, b.code);
      const r = spawnSync(process.execPath, [file], {
        env: { ...process.env, MEND_URL: svc.url },
        encoding: "utf8",
        timeout: 120_000,
      });
      assert.equal(r.status, 0, `example at line ${b.line} failed:\n${r.stderr}\n${r.stdout}`);
    });
  }
});
