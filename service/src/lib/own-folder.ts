// Whether a folder is this user's alone: what the compile cache's kept derivations are read back from and
// what its pruning removes files in (lib/compile-cache.ts, lib/compile-cache-prune.ts).
import { statSync } from "node:fs";
import { dirname } from "node:path";

/** Folders checked by `ownFolder`, with the answer. */
const ownFolders = new Map<string, boolean>();

/**
 * Whether only this process's user can put files in `dir`: owned by it and writable by no one else, in a
 * parent that nobody else can rename it out of (the parent's owner is this user or root, and it is writable
 * only by them, or sticky like /tmp). Why: a kept derivation is read back as already validated (a policy's
 * limits, its egress rules), so a folder another local user can write — Node's default cache folder is
 * under the shared os.tmpdir() — would let that user hand the service any policy; and the pruning removes
 * files only where no one else could have put (or swapped) them.
 * @example if (ownFolder(dir)) readKept(dir)
 */
export function ownFolder(dir: string): boolean {
  const known = ownFolders.get(dir);
  if (known !== undefined) return known;
  let own: boolean;
  try {
    const uid = process.getuid?.();
    const d = statSync(dir);
    const parent = statSync(dirname(dir));
    own =
      uid !== undefined &&
      d.uid === uid &&
      (d.mode & 0o022) === 0 &&
      (parent.uid === uid || parent.uid === 0) &&
      ((parent.mode & 0o022) === 0 || (parent.mode & 0o1000) !== 0);
  } catch {
    own = false;
  }
  ownFolders.set(dir, own);
  return own;
}
