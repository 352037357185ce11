import { describe, it, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { BlobStore } from "./blob-store.ts";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "mend-blobs-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const files = (root: string) =>
  readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));

describe("BlobStore", () => {
  it("stores content under its sha256 and reads it back", async () => {
    const blobs = new BlobStore(dir);
    const { sha256, size } = await blobs.put("hello");
    assert.equal(sha256, createHash("sha256").update("hello").digest("hex"));
    assert.equal(size, 5);
    assert.equal((await blobs.get(sha256))?.toString(), "hello");
  });

  it("stores identical content once, even when written concurrently", async () => {
    const blobs = new BlobStore(dir);
    const buf = Buffer.alloc(1024 * 1024, 7);
    await Promise.all(Array.from({ length: 10 }, () => blobs.put(buf)));
    const all = files(dir);
    assert.equal(all.length, 1, `expected one file, found ${all.join(", ")}`);
  });

  it("refuses addresses that are not sha256 hex", async () => {
    const blobs = new BlobStore(dir);
    assert.equal(await blobs.get("../../etc/passwd"), null);
    assert.equal(await blobs.has("abc"), false);
  });

  it("never leaves a partial blob under its final name when the writer is killed", async () => {
    const code = `
      import { BlobStore } from ${JSON.stringify(new URL("./blob-store.ts", import.meta.url).href)};
      const b = new BlobStore(${JSON.stringify(dir)});
      for (let i = 0; ; i++) await b.put(Buffer.alloc(4 * 1024 * 1024, i % 251).fill(String(i), 0, 16));`;
    for (let round = 0; round < 3; round++) {
      const p = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: "ignore" });
      await new Promise((r) => setTimeout(r, 400 + round * 150));
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
