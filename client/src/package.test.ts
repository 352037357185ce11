// The published package: generated wire types are current, and the build is ESM + .d.ts with no dependencies.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateWireTypes, TARGET } from "./build/gen-wire-types.ts";
import { buildClient } from "./build/build.ts";

describe("@mend/client package", () => {
  it("has wire types generated from the current wire schemas", async () => {
    assert.equal(
      readFileSync(TARGET, "utf8"),
      await generateWireTypes(),
      "run `npm run gen --workspace client`",
    );
  });

  it("compiles to ESM and declarations that import nothing outside the package", async () => {
    const out = mkdtempSync(join(tmpdir(), "mend-client-dist-"));
    await buildClient(out);
    const files = readdirSync(out).filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"));
    assert.ok(files.includes("index.js") && files.includes("index.d.ts"));
    for (const f of files) {
      const text = readFileSync(join(out, f), "utf8");
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
        assert.match(m[1]!, /^\.\/[\w-]+\.js$/, `${f} imports ${m[1]}`);
      }
    }
    const mod = (await import(join(out, "index.js"))) as {
      Mend: new (o: { baseUrl: string }) => { baseUrl: string };
    };
    assert.equal(new mod.Mend({ baseUrl: "http://127.0.0.1:1/" }).baseUrl, "http://127.0.0.1:1");
  });
});
