// A small tmpfs of the test's own (mounted as root) to fill up or make read-only: real ENOSPC and EROFS.
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Tmpfs {
  dir: string;
  /** Fills the file system to the last byte (ENOSPC for any further write). */
  fill(): void;
  /** Frees what fill() took. */
  free(): void;
  /** Remounts read-only or read-write (read-only needs no file open for writing on it). */
  remount(mode: "ro" | "rw"): void;
  unmount(): void;
}

/** The tmpfs, or why none can be mounted here (tests then skip, saying so). */
export type TmpfsAvailability = { tmpfs: Tmpfs } | { tmpfs: null; reason: string };

/**
 * Mounts a tmpfs of `sizeMb` MiB on a fresh directory.
 * @example const got = mountTmpfs(8); if (!got.tmpfs) t.skip(got.reason)
 */
export function mountTmpfs(sizeMb: number): TmpfsAvailability {
  if (process.getuid?.() !== 0) return { tmpfs: null, reason: "mounting a tmpfs needs root" };
  const dir = mkdtempSync(join(tmpdir(), "mend-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMb}m,mode=0755`, "tmpfs", dir], {
      stdio: "pipe",
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const err = e as { stderr?: Buffer; message: string };
    return {
      tmpfs: null,
      reason: `cannot mount a tmpfs here: ${err.stderr?.toString().trim() || err.message}`,
    };
  }
  const filler = join(dir, "filler");
  return {
    tmpfs: {
      dir,
      fill() {
        const fd = openSync(filler, "a");
        try {
          for (const size of [1 << 20, 1 << 16, 1 << 12, 512, 1]) {
            const chunk = Buffer.alloc(size, 1);
            try {
              for (;;) writeSync(fd, chunk);
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
            }
          }
        } finally {
          closeSync(fd);
        }
      },
      free() {
        rmSync(filler, { force: true });
      },
      remount(mode) {
        execFileSync("mount", ["-o", `remount,${mode}`, dir], { stdio: "pipe" });
      },
      unmount() {
        try {
          execFileSync("umount", ["-l", dir], { stdio: "pipe" });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    },
  };
}
