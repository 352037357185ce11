// Checks of a job that are the host's business (not the guest's): bad limits, unsafe paths, unknown runtimes.
import { CONTAINER_RUNTIMES } from "./seccomp-profile.ts";
import type { ContainerJob } from "./runner.ts";

/** Host misuse (not guest behaviour) throws: bad limits, unsafe file paths, non-string code. */
export function validateJob(job: ContainerJob): void {
  if (typeof job.code !== "string") throw new TypeError("job.code must be a string");
  if (typeof job.image !== "string" || job.image.length === 0)
    throw new TypeError("job.image must be a non-empty string");
  const l = job.limits;
  for (const k of ["memoryMb", "cpus", "timeoutMs", "diskMb", "pids", "outputBytes"] as const) {
    if (!Number.isFinite(l[k]) || l[k] <= 0)
      throw new RangeError(`job.limits.${k} must be a positive number`);
  }
  if (l.memoryMb < 6) throw new RangeError("job.limits.memoryMb must be at least 6 (Docker's minimum)");
  if (l.network !== "none" && (l.network.mode !== "allowlist" || !Array.isArray(l.network.hosts)))
    throw new RangeError("job.limits.network: 'none' or { mode: 'allowlist', hosts }");
  if (job.runtime !== undefined && !(CONTAINER_RUNTIMES as readonly string[]).includes(job.runtime))
    throw new TypeError(`job.runtime must be one of ${CONTAINER_RUNTIMES.join(", ")}`);
  let total = 0;
  for (const f of job.files ?? []) {
    const parts = f.path.split("/");
    if (f.path.length === 0 || f.path.startsWith("/") || parts.includes("..") || f.path.includes("\0")) {
      throw new TypeError(`job.files: unsafe path ${JSON.stringify(f.path)}`);
    }
    total += f.content.length;
  }
  if (total > l.diskMb * 1024 * 1024) throw new RangeError(`job.files: ${total} bytes exceed limits.diskMb`);
}
