import * as t from "node:test";
import { describe, it, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { FileBlobStore } from "./file-blob-store.ts";
import { runBlobStoreConformance } from "./testing/blob-store-conformance.ts";

runBlobStoreConformance(t, "files", async () => {
  const root = mkdtempSync(join(tmpdir(), "mend-blobs-"));
  return {
    blobs: new FileBlobStore(root),
    destroy: async () => rmSync(root, { recursive: true, force: true }),
  };
});

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "mend-blobs-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const files = (root: string) =>
  readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));

describe("FileBlobStore", () => {
  it("writes into a fan-out folder removed after its first blob (the folder is made again)", async () => {
    const blobs = new FileBlobStore(dir);
    const first = await blobs.put("a");
    rmSync(join(dir, first.sha256.slice(0, 2)), { recursive: true, force: true });
    assert.equal(await blobs.has(first.sha256), false);
    await blobs.put("a");
    assert.equal((await blobs.get(first.sha256))?.toString(), "a");
  });

  it("keeps one file for identical content, even when written concurrently", async () => {
    const blobs = new FileBlobStore(dir);
    const buf = Buffer.alloc(1024 * 1024, 7);
    await Promise.all(Array.from({ length: 10 }, () => blobs.put(buf)));
    const all = files(dir);
    assert.equal(all.length, 1, `expected one file, found ${all.join(", ")}`);
  });

  it("never leaves a partial blob under its final name when the writer is killed", async () => {
    const code = `
      import { FileBlobStore } from ${JSON.stringify(new URL("./file-blob-store.ts", import.meta.url).href)};
      const b = new FileBlobStore(${JSON.stringify(dir)});
      for (let i = 0; ; i++) {
        await b.put(Buffer.alloc(4 * 1024 * 1024, i % 251).fill(String(i), 0, 16));
        process.stdout.write("w");
      }`;
    for (let round = 0; round < 3; round++) {
      const p = spawn(process.execPath, ["--input-type=module", "-e", code], {
        stdio: ["ignore", "pipe", "ignore"],
      });
      // Killed while it writes: after its first blob is complete (however slow the machine is to start
      // it), a moment later, in the middle of the next ones.
      await new Promise<void>((resolve) => p.stdout.once("data", () => resolve()));
      await new Promise((r) => setTimeout(r, 20 + round * 35));
      p.kill("SIGKILL");
      await new Promise((r) => p.on("exit", r));
    }
    const finals = files(dir).filter((f) => !f.endsWith(".tmp"));
    assert.ok(finals.length > 0, "the writer got to write something");
    for (const f of finals) {
      const name = f.split("/").at(-1)!;
      assert.equal(createHash("sha256").update(readFileSync(f)).digest("hex"), name, `${f} is complete`);
    }
  });
});
