// Keeps V8's compile cache (enabled by cli/main.ts) across a kill -9: writes it once the service serves.
import { createHash } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { flushCompileCache, getCompileCacheDir } from "node:module";
import { join } from "node:path";

/** Names this build of the service: the bundle's chunk names carry a hash of their content. */
const BUILD = createHash("sha256")
  .update(import.meta.url)
  .update(process.version)
  .digest("hex")
  .slice(0, 16);

/**
 * Writes the code of the modules loaded so far to the compile cache now, not at exit: a service that is
 * killed (-9, OOM, a power cut) never exits, and every later start would compile every module again
 * (~90 ms of CPU). Node compares each entry with the stored one (~60 ms of the main thread even when all
 * are the same), so a marker next to the cache says this build's modules of `stage` were written: once per
 * build and stage (a later stage writes the modules loaded since, e.g. the container engines').
 * @example keepCompileCache("serving") // after listening, off the first requests' path
 */
export function keepCompileCache(stage: string): void {
  const dir = getCompileCacheDir();
  if (dir === undefined) return; // not enabled (in-process tests, a read-only cache dir)
  const marker = join(dir, `mend-${BUILD}-${stage}`);
  if (existsSync(marker)) return;
  flushCompileCache();
  try {
    writeFileSync(marker, "");
  } catch {
    /* the cache dir became unwritable: the next start writes again */
  }
}
