// The compile cache's pruning on real folders: what older builds and interrupted writes left goes, this
// build's files and every other program's stay, and nothing is reached through a symbolic link.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pruneCompileCache } from "./compile-cache-prune.ts";

const BUILD = "1111111111111111";
const OLDER = "2222222222222222";
const TAG = "v24.22.3-x64-964aae3f-0";
const OLDER_NODE_TAG = "v24.0.0-x64-964aae3f-0";

/** The pid of a process that ran and is gone. */
const deadPid = (): number => spawnSync(process.execPath, ["-e", "0"]).pid;

/** A cache folder seeded as an upgrade (of Mend and of Node) and a kill -9 during a write leave it. */
function seed() {
  const base = mkdtempSync(join(tmpdir(), "mend-prune-"));
  const outside = mkdtempSync(join(tmpdir(), "mend-prune-outside-"));
  const cacheDir = join(base, TAG);
  const put = (dir: string, files: string[]) => {
    mkdirSync(dir, { recursive: true });
    for (const f of files) writeFileSync(join(dir, f), "x");
  };
  const dead = deadPid();
  const current = [
    "8b2d3b44", // V8's code of some module: Node's, never Mend's to remove
    `mend-${BUILD}-serving`,
    `mend-${BUILD}-policy-k1.json`,
    `mend-${BUILD}-policy-k2.json.${process.pid}.tmp`, // being written by this process
    "mend-notes.txt", // starts as Mend's names do, but is no name Mend writes
  ];
  put(cacheDir, [
    ...current,
    `mend-${BUILD}-policy-k3.json.${dead}.tmp`, // an interrupted write
    `mend-${OLDER}-serving`,
    `mend-${OLDER}-policy-k4.json`,
    `mend-${OLDER}-policy-k4.json.${dead}.tmp`,
    "mend-policy-0123456789abcdef0123456789abcdef.json", // the naming before build ids
  ]);
  put(join(base, OLDER_NODE_TAG), ["61d708af", "mend-3333333333333333-serving"]);
  put(join(base, "someone-else"), ["mend-x"]);
  put(outside, ["mend-target"]);
  // Links named as Mend names its files and as Node names its folders: what they point to stays.
  symlinkSync(join(outside, "mend-target"), join(cacheDir, `mend-${OLDER}-linked`));
  symlinkSync(outside, join(base, "v24.1.0-x64-964aae3f-0"));
  return { base, cacheDir, outside, current };
}

const names = (dir: string) => readdirSync(dir).sort();

void describe("pruneCompileCache", () => {
  void it("removes older builds' files, the former naming's and dead writers' temporary files, only Mend's", () => {
    const { base, cacheDir, outside, current } = seed();
    try {
      assert.equal(pruneCompileCache(cacheDir, BUILD), 6);
      assert.deepEqual(names(cacheDir), [...current, `mend-${OLDER}-linked`].sort());
      assert.deepEqual(names(join(base, OLDER_NODE_TAG)), ["61d708af"]);
      assert.deepEqual(names(join(base, "someone-else")), ["mend-x"]);
      assert.deepEqual(names(outside), ["mend-target"]);
    } finally {
      rmSync(base, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  void it("removes nothing from a folder other users can write", () => {
    const { base, cacheDir, outside } = seed();
    try {
      const before = names(cacheDir);
      chmodSync(cacheDir, 0o777);
      assert.equal(pruneCompileCache(cacheDir, BUILD), 0);
      assert.deepEqual(names(cacheDir), before);
      assert.ok(existsSync(join(base, OLDER_NODE_TAG, "mend-3333333333333333-serving")));
    } finally {
      rmSync(base, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
