// Turns the real signals of one execution (launcher report, docker inspect, timers) into a Failure.
import { makeFailure, type Failure } from "@mend/wire";
import type { GuestError, LauncherResult } from "./job-protocol.ts";
import type { ContainerLimits } from "./runner.ts";

/** Everything observed about one finished (or killed) container. */
export interface ExecutionSignals {
  limits: ContainerLimits;
  wallMs: number;
  /** The launcher's report; absent when the launcher never finished (killed, OOM, lost). */
  launcher?: LauncherResult;
  /** From docker inspect after exit; `found: false` when the container was gone. */
  inspect?: { found: boolean; exitCode: number | null; oomKilled: boolean };
  /** The engine's OOM flag, read while the reporting launcher held the container open. */
  hostOomKilled?: boolean;
  timedOut: boolean;
  aborted: boolean;
  /** A stream (stdout, stderr) went over limits.outputBytes. */
  outputExceeded: boolean;
  /** pids in use when the timeout fired (from the stats API), if known. */
  pidsAtTimeout?: number;
  memoryPeakMb?: number;
  stdoutTail: string;
  stderrTail: string;
}

const TAIL_CHARS = 2000;
const SIGXFSZ = 25;
const CODE_KINDS = new Set(["missing_dependency", "syntax_error", "runtime_error", "stack_overflow"]);

function tail(s: string): string {
  return s.length > TAIL_CHARS ? s.slice(-TAIL_CHARS) : s;
}

function cause(e: GuestError): Failure["cause"] {
  // the schema allows extra properties; `frames` carries the user's traceback
  const c: NonNullable<Failure["cause"]> & { frames?: unknown } = {
    type: e.type,
    message: e.message,
    ...(e.stack === undefined ? {} : { stack: e.stack }),
    frames: e.frames ?? [],
  };
  return c;
}

function location(e: GuestError): Failure["location"] | undefined {
  if (typeof e.line !== "number") return undefined;
  return typeof e.column === "number" ? { line: e.line, column: e.column } : { line: e.line };
}

/**
 * Classifies an execution; undefined means it succeeded.
 * @example classify({ limits, wallMs: 12, timedOut: true, aborted: false, outputExceeded: false, stdoutTail: "", stderrTail: "" })?.kind // "timeout"
 */
export function classify(s: ExecutionSignals): Failure | undefined {
  const { limits } = s;
  const L = s.launcher;
  const exitCode = L?.exitCode ?? s.inspect?.exitCode ?? null;
  const common = {
    usage: {
      wallMs: Math.round(s.wallMs),
      ...(s.memoryPeakMb === undefined ? {} : { memoryPeakMb: s.memoryPeakMb }),
    },
    ...(exitCode === null ? {} : { exitCode }),
    stdoutTail: tail(s.stdoutTail),
    stderrTail: tail(s.stderrTail),
  };
  const oom =
    (L?.oomKills ?? 0) > 0 ||
    L?.error?.kind === "out_of_memory" ||
    s.inspect?.oomKilled === true ||
    s.hostOomKilled === true;
  // a fork that failed with EAGAIN, as the launcher recorded it (the code's own report, or the pids
  // cgroup's count): a fork bomb also exhausts memory, and under gVisor (pids as RLIMIT_NPROC, tmpfs
  // in the memory limit) both limits are hit, so this record wins over the OOM signals
  const forkRefused =
    L?.error?.kind === "pids_limit" || (L?.pidsMaxHits ?? 0) > 0 || (L?.forkEagain ?? 0) > 0;
  const pidsHit = forkRefused || (s.pidsAtTimeout !== undefined && s.pidsAtTimeout >= limits.pids);

  if (s.aborted) {
    return makeFailure("interrupted", "The execution was cancelled and its container killed.", true, common);
  }
  if (forkRefused && !s.outputExceeded) return pidsFailure(limits, common, L?.error);
  // any OOM kill in the container counts, also of a child whose parent carried on and exited 0
  if (oom) {
    return makeFailure(
      "out_of_memory",
      `The code was killed after reaching its ${limits.memoryMb} MiB memory limit.`,
      true,
      {
        ...common,
        limits: { memoryMb: limits.memoryMb },
        usage: { ...common.usage, memoryPeakMb: limits.memoryMb },
        remedy: { action: "increase_memory", memoryMb: limits.memoryMb * 2 },
        ...(L?.error === undefined ? {} : { cause: cause(L.error) }),
      },
    );
  }
  if (s.outputExceeded) {
    return makeFailure(
      "output_limit",
      `The output went over the ${limits.outputBytes} byte cap; it was truncated and the container stopped. Write less, or write a file under /workspace/out.`,
      false,
      {
        ...common,
        limits: { outputBytes: limits.outputBytes },
        remedy: { action: "write_less", hint: "return a file" },
      },
    );
  }
  if (s.timedOut) {
    if (pidsHit) return pidsFailure(limits, common);
    return makeFailure(
      "timeout",
      `The code was killed after its ${limits.timeoutMs} ms wall-clock limit.`,
      true,
      {
        ...common,
        limits: { timeoutMs: limits.timeoutMs },
        remedy: { action: "increase_timeout", timeoutMs: limits.timeoutMs * 2, hint: "or split the work" },
      },
    );
  }
  if (L === undefined) {
    if (s.inspect?.found === false) {
      return makeFailure(
        "container_lost",
        "The container disappeared during the execution (removed from outside).",
        true,
        {
          ...common,
          remedy: { action: "retry" },
        },
      );
    }
    if (s.inspect === undefined) {
      return makeFailure(
        "container_lost",
        "The Docker engine stopped answering during the execution; the outcome is unknown.",
        true,
        { ...common, remedy: { action: "retry" } },
      );
    }
    return makeFailure(
      "container_lost",
      `The container was stopped from outside before the code finished (exit ${exitCode ?? "unknown"}).`,
      true,
      { ...common, remedy: { action: "retry" } },
    );
  }
  const e = L.error;
  if (e?.kind === "pids_limit" || (pidsHit && exitCode !== 0)) return pidsFailure(limits, common, e);
  if (e?.kind === "disk_full" || L.signal === SIGXFSZ || L.launcherError?.errno === 28) {
    return makeFailure(
      "disk_full",
      `The code ran out of disk space: /workspace and /tmp are limited to ${limits.diskMb} MiB each.`,
      true,
      {
        ...common,
        limits: { diskMb: limits.diskMb },
        remedy: { action: "increase_disk", diskMb: limits.diskMb * 2 },
        ...(e === undefined ? {} : { cause: cause(e) }),
      },
    );
  }
  if (e?.kind === "network_denied") {
    return makeFailure(
      "network_denied",
      `The code tried to use the network, which is off in this sandbox: ${e.message}`,
      false,
      {
        ...common,
        limits: { network: limits.network },
        remedy: { action: "use_tool", hint: "fetch data with a tool instead of from the code" },
        cause: cause(e),
      },
    );
  }
  if (e !== undefined && e.kind === "missing_dependency") {
    const module = e.module ?? "";
    return makeFailure(
      "missing_dependency",
      `The module '${module}' is not installed in this image.`,
      false,
      {
        ...common,
        module,
        ...(location(e) === undefined ? {} : { location: location(e) }),
        remedy: {
          action: "avoid_dependency",
          hint: `choose an image that has '${module}', or do without it`,
        },
        cause: cause(e),
      },
    );
  }
  if (e !== undefined && CODE_KINDS.has(e.kind)) {
    const kind = e.kind as "syntax_error" | "runtime_error" | "stack_overflow";
    const where =
      typeof e.line === "number"
        ? ` at line ${e.line}${typeof e.column === "number" ? `, column ${e.column}` : ""}`
        : "";
    return makeFailure(kind, `${e.type}${where}: ${e.message}`, false, {
      ...common,
      ...(location(e) === undefined ? {} : { location: location(e) }),
      cause: cause(e),
      ...(kind === "stack_overflow" ? {} : { remedy: { action: "fix_code" } }),
    });
  }
  if (L.launcherError !== undefined) {
    return makeFailure(
      "runtime_error",
      `The job could not be set up: ${L.launcherError.message}`,
      false,
      common,
    );
  }
  if (exitCode !== 0) {
    const how = L.signal ? `was killed by signal ${L.signal}` : `exited with code ${exitCode}`;
    return makeFailure("nonzero_exit", `The process ${how}.`, false, common);
  }
  if (L.outTruncated === true) {
    return makeFailure(
      "output_limit",
      `The files under /workspace/out went over the ${limits.diskMb} MiB cap; some were left out.`,
      false,
      {
        ...common,
        limits: { diskMb: limits.diskMb },
        remedy: { action: "write_less" },
      },
    );
  }
  return undefined;
}

function pidsFailure(limits: ContainerLimits, common: Partial<Failure>, e?: GuestError): Failure {
  return makeFailure(
    "pids_limit",
    `The code hit the limit of ${limits.pids} processes/threads (fork bomb or too much parallelism).`,
    false,
    {
      ...common,
      limits: { pids: limits.pids },
      remedy: { action: "reduce_parallelism" },
      ...(e === undefined ? {} : { cause: cause(e) }),
    },
  );
}

/**
 * Failure for an engine-side error before or around the container (engine down, image missing).
 * @example engineFailure(err, "python")?.kind // "sandbox_unavailable"
 */
export function engineFailure(err: unknown, image: string, runtime = "runc"): Failure {
  if (isNoSuchImage(err)) {
    return makeFailure(
      "image_unavailable",
      `The image '${image}' is not available in the Docker engine (build it with images/build).`,
      false,
      {
        remedy: { action: "pick_image", hint: "python, node or shell" },
      },
    );
  }
  const detail = err instanceof Error ? err.message : String(err);
  if (/unknown or invalid runtime name/i.test(detail)) {
    return makeFailure(
      "sandbox_unavailable",
      `The Docker engine has no '${runtime}' runtime registered (scripts/setup registers gVisor's runsc when the machine allows it).`,
      false,
      { remedy: { action: "ask_operator", hint: "use container.runtime: runc, or register runsc" } },
    );
  }
  return makeFailure(
    "sandbox_unavailable",
    `The Docker engine could not run the container: ${detail}`,
    true,
    {
      remedy: { action: "retry", backoffMs: 1000 },
    },
  );
}

/** True for dockerode's "no such image" errors (404 on create). */
export function isNoSuchImage(err: unknown): boolean {
  const e = err as { statusCode?: number; message?: string; json?: { message?: string } } | null;
  const msg = `${e?.json?.message ?? ""} ${e?.message ?? ""}`;
  return e?.statusCode === 404 && /no such image|not found|pull access denied/i.test(msg);
}

/** True when the engine itself could not be reached (socket missing, refused, reset). */
export function isEngineUnreachable(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return (
    code !== undefined &&
    ["ENOENT", "ECONNREFUSED", "ECONNRESET", "EACCES", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH"].includes(code)
  );
}
