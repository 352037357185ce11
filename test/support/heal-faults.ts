// The self-healing benchmark's faults: each a scripted model that follows the failure's remedy, plus what
// the bench does from outside (kill a container), and the judge that reads the journal after the run.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { ChatRequest, Script, TurnContext } from "./fake-llm.ts";
import { callTool, finish, httpError, rawBody, runCode, type Turn } from "./fake-llm-turns.ts";
import type { EngineProxy } from "./engine-proxy.ts";

const exec = promisify(execFile);

/**
 * Who healed a fault: Mend's policy (an automatic retry), the model (after reading the failure), the LLM
 * provider code (retries inside one call), the hosted loop's durable backoff (a failed model step, then a
 * later call), or the container runner (a finished job's result adopted after an engine outage).
 */
export type Healer = "policy" | "model" | "provider" | "backoff" | "runner" | "none";

export interface Fault {
  name: string;
  /** Infrastructure faults are the ones the ≤ 1 s recovery target applies to. */
  infra: boolean;
  /** The failure kind the journal or the model must show (null: an LLM fault healed inside the call). */
  kind: string | null;
  /** What healing this fault should look like; checked as "right remedy" where it is set. */
  rightRemedy?: (steps: JournalStep[]) => boolean;
  script: Script;
  /**
   * Done from outside while the run goes (e.g. kill its container); resolves with when the fault happened
   * (epoch ms), the start of its recovery time.
   */
  inject?: (ctx: {
    runId: string;
    signal: AbortSignal;
    /** The proxy between the service and its Docker engine (cut it to make the engine unreachable). */
    engine: EngineProxy;
  }) => Promise<number | undefined>;
  /**
   * How long the fault itself lasts by construction (an outage), when it does: nothing can heal before it
   * ends, so the ≤ 1 s target applies to what follows it.
   */
  outageMs?: number;
  /** Extra service environment this fault needs (all faults share one service, so these are merged). */
  env?: Record<string, string>;
}

/** The journal as GET /v1/runs/{id}/steps returns it (the fields the judge reads). */
export interface JournalStep {
  seq: number;
  key: string;
  kind: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  input: any;
  failure: { kind: string; remedy?: { action?: string } } | null;
  usage: Record<string, any> | null;
  remediation: Record<string, any> | null;
}

const lastResult = (ctx: TurnContext): any => {
  try {
    return JSON.parse(ctx.lastToolResult?.content ?? "{}");
  } catch {
    return {};
  }
};

/** A script: turn 0 runs the faulty action; then the model reads the result and follows its remedy. */
function remedyScript(first: Turn, next: (result: any) => Turn): Script {
  return (_req: ChatRequest, turn: number, ctx: TurnContext) => {
    if (turn === 0) return first;
    const r = lastResult(ctx);
    if (r.status === "succeeded") return finish(String(r.stdout ?? r.result ?? "done"));
    return next(r);
  };
}

/** A script whose first model call fails `times` times the way `fault` says, then runs a job and finishes. */
function providerScript(fault: (attempt: number) => Turn | null): Script {
  return (_req, turn, ctx) => {
    if (turn === 0) return fault(ctx.attempt) ?? runCode("python", "print('ok')");
    return finish("ok");
  };
}

/** Resolves with the id of the run's container (label mend.run) once it runs, or undefined when aborted. */
async function containerOf(runId: string, signal: AbortSignal): Promise<string | undefined> {
  while (!signal.aborted) {
    const { stdout } = await exec("docker", ["ps", "-q", "--filter", `label=mend.run=${runId}`]);
    const id = stdout.trim().split("\n")[0];
    if (id) return id;
    await new Promise((r) => setTimeout(r, 25));
  }
  return undefined;
}

/** Kills the run's container once it runs, from outside, as an operator or the OOM killer would. */
async function killContainerOf(runId: string, signal: AbortSignal): Promise<number | undefined> {
  const id = await containerOf(runId, signal);
  if (id === undefined) return undefined;
  await exec("docker", ["kill", id]).catch(() => undefined);
  return Date.now();
}

/** How long the engine stays unreachable in the engine fault. */
export const ENGINE_CUT_MS = 5_000;

/** Cuts the service off its engine for ENGINE_CUT_MS once the run's container runs; resolves with the cut. */
async function cutEngineDuring(
  runId: string,
  engine: EngineProxy,
  signal: AbortSignal,
): Promise<number | undefined> {
  if ((await containerOf(runId, signal)) === undefined) return undefined;
  engine.cut();
  const at = Date.now();
  await new Promise((r) => setTimeout(r, ENGINE_CUT_MS));
  engine.restore();
  return at;
}

/**
 * The faults of `npm run bench:heal` (and of the reduced test), in report order.
 * `llmStallMs` is the service's MEND_LLM_STALL_TIMEOUT_MS (the hang fault waits that long by design).
 */
export function healFaults(): Fault[] {
  return [
    {
      name: "container OOM",
      infra: true,
      kind: "out_of_memory",
      script: remedyScript(
        runCode("python", "x = bytearray(80 * 1024 * 1024)\nprint('allocated', len(x) >> 20)", {
          memoryMb: 64,
        }),
        (r) => runCode("python", "print('smaller')", { memoryMb: r.failure?.remedy?.memoryMb ?? 128 }),
      ),
    },
    {
      name: "timeout",
      infra: true,
      kind: "timeout",
      script: remedyScript(
        runCode("python", "import time\ntime.sleep(1)\nprint('slow')", { timeoutMs: 500 }),
        (r) =>
          runCode("python", "import time\ntime.sleep(1)\nprint('slow')", {
            // The model gives the job room beyond the suggested doubling (start-up counts against the limit).
            timeoutMs: 4 * (r.failure?.remedy?.timeoutMs ?? 1000),
          }),
      ),
    },
    {
      name: "container killed from outside",
      infra: true,
      kind: "container_lost",
      script: remedyScript(runCode("python", "import time\ntime.sleep(1.5)\nprint('survived')"), () =>
        runCode("python", "print('again')"),
      ),
      inject: ({ runId, signal }) => killContainerOf(runId, signal),
    },
    {
      // The job finishes while the engine is cut; when it answers again its result is adopted, not re-run.
      name: "Docker engine unreachable 5 s",
      infra: true,
      outageMs: ENGINE_CUT_MS,
      kind: "container_lost",
      script: remedyScript(
        runCode("python", "import time\ntime.sleep(1.5)\nprint('finished in the dark')"),
        () => runCode("python", "print('again')"),
      ),
      inject: ({ runId, signal, engine }) => cutEngineDuring(runId, engine, signal),
    },
    {
      name: "pids limit",
      infra: true,
      kind: "pids_limit",
      // More memory would not help a process limit: the remedy is less parallelism.
      rightRemedy: (steps) =>
        steps.some(
          (s) => s.failure?.kind === "pids_limit" && s.failure.remedy?.action === "reduce_parallelism",
        ) && !steps.some((s) => s.remediation?.action === "increase_memory"),
      script: remedyScript(
        runCode(
          "python",
          "import threading, time\nts = [threading.Thread(target=time.sleep, args=(2,)) for _ in range(200)]\nfor t in ts: t.start()\nprint('started')",
          { pids: 16 },
        ),
        () => runCode("python", "import time\ntime.sleep(0.1)\nprint('one at a time')", { pids: 16 }),
      ),
    },
    {
      name: "disk full",
      infra: true,
      kind: "disk_full",
      rightRemedy: (steps) => steps.some((s) => s.remediation?.action === "increase_disk"),
      script: remedyScript(
        runCode("python", "open('big.bin', 'wb').write(b'x' * (24 << 20))\nprint('written')", { diskMb: 16 }),
        (r) =>
          runCode("python", "open('big.bin', 'wb').write(b'x' * (24 << 20))\nprint('written')", {
            diskMb: r.failure?.remedy?.diskMb ?? 64,
          }),
      ),
    },
    {
      name: "missing module",
      infra: true,
      kind: "missing_dependency",
      // No allowed image has torch (container.modules): the remedy says to do without, not to retry.
      rightRemedy: (steps) =>
        steps.some(
          (s) => s.failure?.kind === "missing_dependency" && s.failure.remedy?.action === "avoid_dependency",
        ),
      script: remedyScript(runCode("python", "import torch\nprint(torch.__version__)"), () =>
        runCode("python", "import csv, io\nprint(len(list(csv.reader(io.StringIO('a,b\\n1,2')))))"),
      ),
    },
    {
      name: "LLM 429 with Retry-After 1 s",
      infra: false,
      kind: null,
      script: providerScript((attempt) => (attempt === 0 ? httpError(429, 1) : null)),
    },
    {
      name: "LLM 5xx burst (5 × 503)",
      infra: false,
      kind: null,
      script: providerScript((attempt) =>
        attempt < 5 ? { status: 503, body: '{"error":{"message":"overloaded"}}' } : null,
      ),
    },
    {
      name: "LLM hang",
      infra: false,
      kind: null,
      script: providerScript((attempt) => (attempt === 0 ? { hang: true } : null)),
    },
    {
      name: "malformed model output",
      infra: false,
      kind: null,
      script: (_req, turn, ctx) => {
        if (turn === 0 && ctx.attempt === 0)
          return rawBody('{"choices": [{"message": {"tool_calls": "nope"}}');
        if (turn === 0) return callTool("run_code", { image: "python", code: "print('fixed')" });
        return finish("ok");
      },
    },
  ];
}

/** What the judge concludes about one run of one fault. */
export interface HealVerdict {
  status: string;
  healed: boolean;
  paused: boolean;
  /** From the fault to the start of the step that then succeeded, ms (null when it never recovered). */
  recoveryMs: number | null;
  /** From the fault to the end of that step (the healed job's own run time included), ms. */
  recoveredEndMs: number | null;
  healer: Healer;
  /** The fault is in the journal: a failed step of its kind, or provider retries recorded on the LLM step. */
  inJournal: boolean;
  /** The model's next request carried the failure (infrastructure faults it had to see). */
  toldModel: boolean | null;
  rightRemedy: boolean | null;
  containersLeft: number;
}

const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));

/**
 * Reads a finished run's journal (and the model's requests) into a verdict.
 * @example judge(fault, run, steps, requestsOfThisRun, containersLeft)
 */
export function judge(
  fault: Fault,
  run: { status: string },
  steps: JournalStep[],
  modelRequests: { body: ChatRequest | undefined; atMs: number; status: number }[],
  containersLeft: number,
  /** When the bench injected the fault from outside (a kill), if it did. */
  injectedAt?: number,
): HealVerdict {
  const healed = run.status === "succeeded";
  const paused = run.status === "waiting_for_input";
  const base = { status: run.status, healed, paused, containersLeft };
  const rightRemedy = fault.rightRemedy ? fault.rightRemedy(steps) : null;
  if (fault.kind === null) {
    // LLM faults: from the first failed model request to the end of the model step that answered.
    // From the first model request (the faulty one: an error, a hang, a malformed body).
    const failedAt = modelRequests[0]?.atMs ?? null;
    const llm = steps.filter((s) => s.kind === "llm");
    const answered = llm.find((s) => s.status === "succeeded");
    const retried = llm.some((s) => (s.usage?.retries?.length ?? 0) > 0 || (s.usage?.attempts ?? 1) > 1);
    const failedStep = llm.find((s) => s.status === "failed");
    const end = ms(answered?.endedAt ?? null);
    return {
      ...base,
      recoveryMs: failedAt !== null && end !== null ? Math.max(0, end - failedAt) : null,
      recoveredEndMs: failedAt !== null && end !== null ? Math.max(0, end - failedAt) : null,
      healer: !healed ? "none" : failedStep ? "backoff" : retried ? "provider" : "model",
      inJournal: retried || failedStep !== undefined,
      toldModel: null,
      rightRemedy,
    };
  }
  const failed = steps.find((s) => s.status === "failed" && s.failure?.kind === fault.kind);
  const adoptedStep = steps.find((s) => s.usage?.adopted === true && s.status === "succeeded");
  const adopted = adoptedStep !== undefined;
  const after = failed ? steps.filter((s) => s.seq > failed.seq && s.kind !== "llm") : [];
  // A result adopted after an outage is the recovery itself (the step never failed).
  const recovered = after.find((s) => s.status === "succeeded") ?? (failed ? undefined : adoptedStep);
  // From the fault: when the bench caused it (a kill, detection included), else the failed step's end.
  const t0 = injectedAt ?? ms(failed?.endedAt ?? null);
  const t2 = ms(recovered?.endedAt ?? null);
  // To the start of the step that then succeeded: the heal's latency, not the healed job's run time.
  // An adopted step started before the fault: its recovery is when its result was known (its end).
  const t1 = ms((recovered === adoptedStep ? recovered?.endedAt : recovered?.startedAt) ?? null);
  const healer: Healer = !healed
    ? "none"
    : adopted && !failed
      ? "runner"
      : recovered?.remediation
        ? "policy"
        : recovered
          ? "model"
          : "none";
  // The model was told when a request after the failure carries the failure's kind.
  const failedAt = t0 ?? Number.POSITIVE_INFINITY;
  const toldModel = modelRequests.some(
    (r) => r.atMs >= failedAt && JSON.stringify(r.body?.messages ?? []).includes(fault.kind!),
  );
  return {
    ...base,
    recoveryMs: t0 !== null && t1 !== null ? Math.max(0, t1 - t0) : null,
    recoveredEndMs: t0 !== null && t2 !== null ? Math.max(0, t2 - t0) : null,
    healer,
    inJournal: failed !== undefined || adopted,
    toldModel: failed ? toldModel : null,
    rightRemedy,
  };
}

/** Containers (any state) still carrying the run's label. */
export async function containersOf(runId: string): Promise<number> {
  const { stdout } = await exec("docker", ["ps", "-aq", "--filter", `label=mend.run=${runId}`]);
  return stdout.trim() ? stdout.trim().split("\n").length : 0;
}
