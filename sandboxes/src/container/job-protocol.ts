// The wire format between the runner and the in-image launcher (images/launcher/launch.py).
import { randomBytes } from "node:crypto";
import type { ContainerJob } from "./runner.ts";

/** The code-layer error the launcher's runtime host reports for an uncaught exception. */
export interface GuestError {
  kind: string;
  type: string;
  message: string;
  line?: number;
  column?: number;
  file?: string;
  module?: string;
  errno?: number;
  frames?: { file: string; line: number; name?: string; column?: number; code?: string | null }[];
  stack?: string;
}

/** What the launcher prints behind the result marker once the user's code has exited. */
export interface LauncherResult {
  exitCode: number | null;
  signal: number | null;
  error?: GuestError;
  outTarBase64?: string;
  outTruncated?: boolean;
  launcherError?: { errno?: number; message: string };
  memoryPeakBytes?: number;
  cpuNs?: number;
  oomKills?: number;
  pidsMaxHits?: number;
  /** Reports of a fork/clone refused with EAGAIN by the user's processes (newer launchers only). */
  forkEagain?: number;
  /** Set when the launcher could not make itself non-dumpable (newer launchers only). */
  hardening?: string;
}

/** A fresh per-job nonce: user code cannot know it in advance, so it cannot forge the markers. */
export function newNonce(): string {
  return randomBytes(12).toString("hex");
}

/** Marker before the launcher's JSON result on stderr. */
export function resultMarker(nonce: string): string {
  return `\n\x1eMEND-RESULT:${nonce}:`;
}

/** Marker the launcher writes on stdout after the user's code exited (all its stdout is in). */
export function endMarker(nonce: string): string {
  return `\n\x1eMEND-END:${nonce}`;
}

/**
 * Encodes the job as the single JSON line the launcher reads on stdin.
 * @example encodeJob(job, newNonce(), 64 * 1024 * 1024) // '{"nonce":"…","code":"print(1)",…}\n'
 */
export function encodeJob(job: ContainerJob, nonce: string, outMaxBytes: number): string {
  const doc = {
    nonce,
    code: job.code,
    files: (job.files ?? []).map((f) => ({ path: f.path, contentBase64: f.content.toString("base64") })),
    stdin: job.stdin ?? "",
    argv: job.argv ?? [],
    env: job.env ?? {},
    outMaxBytes,
  };
  return JSON.stringify(doc) + "\n";
}

/** Parses the launcher's result payload; undefined when it is not a launcher result. */
export function parseLauncherResult(payload: string | undefined): LauncherResult | undefined {
  if (payload === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(payload);
    if (typeof v !== "object" || v === null || !("exitCode" in v)) return undefined;
    return v as LauncherResult;
  } catch {
    return undefined;
  }
}
