// Keeps V8's compile cache (enabled by cli/main.ts) across a kill -9 (written once the service serves), and
// results derived at start-up (parsed policies) beside it, keyed by the bundle's sources; and removes what
// older builds and interrupted writes left there (compile-cache-prune.ts).
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { flushCompileCache, getCompileCacheDir } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ownFolder } from "./own-folder.ts";
import { pruneCompileCache } from "./compile-cache-prune.ts";

/**
 * Names this build of the service: the bundle's source hash, else (from the sources) this module's URL;
 * and the Node version. Every file Mend keeps in the cache folder starts with `mend-<buildId>-`: what
 * tells pruneCompileCache an older build's files from this one's.
 */
const buildId = (): string =>
  createHash("sha256")
    .update(bundleInputs() ?? import.meta.url)
    .update(process.version)
    .digest("hex")
    .slice(0, 16);

/**
 * Writes the code of the modules loaded so far to the compile cache now, not at exit: a service that is
 * killed (-9, OOM, a power cut) never exits, and every later start would compile every module again
 * (~90 ms of CPU). Node compares each entry with the stored one (~60 ms of the main thread even when all
 * are the same), so a marker next to the cache says this build's modules of `stage` were written: once per
 * build and stage (a later stage writes the modules loaded since, e.g. the container engines').
 * The first call of a bundle's process also removes what no start of this build can use
 * (`pruneCompileCache`): off the listening path, like the write. Not from the sources: checkouts in
 * development share Node's default folder, and each start would remove the others' files.
 * @example keepCompileCache("serving") // after listening, off the first requests' path
 */
export function keepCompileCache(stage: string): void {
  const dir = getCompileCacheDir();
  if (dir === undefined) return; // not enabled (in-process tests, a read-only cache dir)
  if (!pruned && bundleInputs() !== null) {
    pruned = true;
    pruneCompileCache(dir, buildId());
  }
  const marker = join(dir, `mend-${buildId()}-${stage}`);
  if (existsSync(marker)) return;
  flushCompileCache();
  try {
    writeFileSync(marker, "");
  } catch {
    /* the cache dir became unwritable: the next start writes again */
  }
}

let pruned = false;

let buildInputs: string | null | undefined;

/**
 * The hash of every source the running bundle was built from (dist/build.json, next to the bundle's
 * chunks), or null when running from the sources: what a result derived by this code can be keyed by.
 */
function bundleInputs(): string | null {
  if (buildInputs !== undefined) return buildInputs;
  try {
    // Not `new URL(…, import.meta.url)`: scripts/build-dist.ts rewrites those to the repository's files.
    const file = join(dirname(fileURLToPath(import.meta.url)), "build.json");
    const inputs = (JSON.parse(readFileSync(file, "utf8")) as { inputs?: unknown }).inputs;
    buildInputs = typeof inputs === "string" && inputs.length > 0 ? inputs : null;
  } catch {
    buildInputs = null;
  }
  return buildInputs;
}

/**
 * `derive(input)`, kept as JSON in the compile cache's folder and keyed by the bundle's sources and the
 * input: the next start of the same build reads the result instead of deriving it again (a policy file's
 * YAML parse and validation are ~30 ms of a start, V8-cold). Only for plain JSON data derived from `input`
 * alone; a `derive` that throws (or rejects) is not kept. Without a bundle, or with a cache folder that
 * another user could write (`ownFolder`): `derive(input)`. A kept file names its key, so a file that is not
 * this input's (renamed, copied) is derived again.
 * @example const policy = await cachedDerivation("policy", text, () => parsePolicyFile(name, text))
 */
export async function cachedDerivation<T>(
  kind: string,
  input: string,
  derive: () => T | Promise<T>,
): Promise<T> {
  const dir = getCompileCacheDir();
  const inputs = bundleInputs();
  if (dir === undefined || inputs === null || !ownFolder(dir)) return derive();
  const key = createHash("sha256").update(inputs).update("\0").update(input).digest("hex").slice(0, 32);
  const file = join(dir, `mend-${buildId()}-${kind}-${key}.json`);
  try {
    const kept = JSON.parse(readFileSync(file, "utf8")) as { key?: unknown; value?: T } | null;
    if (kept?.key === key && kept.value !== undefined) return kept.value;
  } catch {
    /* not kept yet, or unreadable: derive it */
  }
  const value = await derive();
  try {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ key, value }), { mode: 0o600 });
    renameSync(tmp, file); // a reader sees the whole file or none
  } catch {
    /* an unwritable cache folder: derived again next time */
  }
  return value;
}
