// Removes from the compile cache's folder the files Mend kept there that no start of the running build can
// use: an older build's markers and kept derivations (every upgrade leaves them: they are named by another
// build), the ones of the naming before build ids, and the temporary files of a kept derivation whose write
// was interrupted (kill -9). Only names Mend makes (`mend-…`), only regular files owned by this user in a
// folder only this user can write, never through a symbolic link, and a bounded number of entries a start.
// V8's own entries stay: Node names them by a hash of a module's path, shared with every other program
// that uses the same folder, so nothing tells an older build's from another program's.
import { lstatSync, opendirSync, unlinkSync, type Dir } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ownFolder } from "./own-folder.ts";

/** How many entries of one folder a start looks at, at most (the rest: the next start). */
const MAX_ENTRIES_READ = 2_000;
/** Node's version tag folder (`v24.22.3-x64-964aae3f-0`): one per Node version, beside the current one. */
const NODE_TAG_FOLDER = /^v\d+\.\d+\.\d+[0-9A-Za-z.+-]*$/;
/**
 * Mend's own files in a cache folder, exactly the names it writes (compile-cache.ts): markers
 * `mend-<build>-<stage>`, kept derivations `mend-<build>-<kind>-<key>.json` and their temporary files
 * `….json.<pid>.tmp`, and the naming before build ids, `mend-<kind>-<32 hex>.json`. Nothing else that
 * merely starts with `mend-` (a stray `mend-notes.txt`) is ever removed.
 */
const MEND_FILE =
  /^mend-(?:[0-9a-f]{16}-[a-z]+(?:-[0-9A-Za-z_]+\.json(?:\.\d{1,10}\.tmp)?)?|[a-z]+-[0-9a-f]{32}\.json)$/;
/** A kept derivation's temporary file (compile-cache.ts): `mend-<build>-<kind>-<key>.json.<pid>.tmp`. */
const TMP_FILE = /\.json\.(\d{1,10})\.tmp$/;

/**
 * Prunes the compile cache folder `cacheDir` (what getCompileCacheDir() answers) for the build `buildId`
 * names: removes Mend's files there not named `mend-<buildId>-…`, this build's temporary files of writers
 * that are gone, and Mend's files in the folders of other Node versions beside it (every file Mend names
 * carries the Node version in its build id). Does nothing in a folder other users can write. Never throws.
 * @returns how many files it removed
 * @example pruneCompileCache(getCompileCacheDir()!, "0123456789abcdef") // 3 after an upgrade
 */
export function pruneCompileCache(cacheDir: string, buildId: string): number {
  const uid = process.getuid?.();
  if (uid === undefined || !ownFolder(cacheDir)) return 0;
  let removed = 0;
  const removeIf = (dir: string, file: string, stale: boolean): void => {
    if (!stale || !MEND_FILE.test(file)) return;
    const path = join(dir, file);
    try {
      const s = lstatSync(path); // a symbolic link is not a regular file: neither followed nor removed
      if (!s.isFile() || s.uid !== uid) return;
      unlinkSync(path);
      removed++;
    } catch {
      /* gone meanwhile, or not removable: the next start */
    }
  };
  const current = `mend-${buildId}-`;
  eachName(cacheDir, (file) => {
    const pid = TMP_FILE.exec(file)?.[1];
    removeIf(cacheDir, file, !file.startsWith(current) || (pid !== undefined && !alive(Number(pid))));
  });
  const base = dirname(cacheDir);
  if (!ownFolder(base)) return removed;
  eachName(base, (name) => {
    const dir = join(base, name);
    if (name === basename(cacheDir) || !NODE_TAG_FOLDER.test(name)) return;
    try {
      const s = lstatSync(dir);
      if (!s.isDirectory() || s.uid !== uid || !ownFolder(dir)) return;
    } catch {
      return;
    }
    eachName(dir, (file) => removeIf(dir, file, true));
  });
  return removed;
}

/** Calls `visit` with the names in `dir`, at most MAX_ENTRIES_READ of them; an unreadable dir has none. */
function eachName(dir: string, visit: (name: string) => void): void {
  let d: Dir | undefined;
  try {
    d = opendirSync(dir);
    for (let i = 0; i < MAX_ENTRIES_READ; i++) {
      const entry = d.readSync();
      if (entry === null) break;
      visit(entry.name);
    }
  } catch {
    /* unreadable: nothing pruned there */
  } finally {
    try {
      d?.closeSync();
    } catch {
      /* already closed */
    }
  }
}

/** Whether a process `pid` runs (this one included): its temporary file may be being written. */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // someone else's process: not ours to judge
  }
}
