// The telemetry port: what the layers report (steps, failures, heals, pool hits, LLM calls, store latency)
// without knowing who listens. The composition root installs a sink (Prometheus metrics); until then, and
// in tests that build layers alone, every report is a no-op that costs one property read.

/** How one journaled step ended (replays are not counted: nothing ran). */
export interface StepReport {
  /** The step kind: codemode, container, tool, llm, human, checkpoint... */
  kind: string;
  status: "succeeded" | "failed" | "interrupted";
  /** The failure's kind (FAILURES.md), when it failed. */
  failureKind?: string | undefined;
  seconds: number;
}

/** How one execution (a codemode, container or tool step) ended. */
export interface ExecutionReport {
  /** codemode | container | tool */
  sandbox: string;
  /** quickjs | v8 | monty for code-mode, the image for containers, the tool name's source for tools. */
  engine: string;
  status: "succeeded" | "failed";
  failureKind?: string | undefined;
  seconds: number;
}

/** One LLM call (all its provider-level retries included). */
export interface LlmReport {
  provider: string;
  status: "ok" | "failed";
  inputTokens: number;
  outputTokens: number;
  retries: number;
  seconds: number;
}

/** Where the layers report; every method must be cheap and must never throw. */
export interface Telemetry {
  step(r: StepReport): void;
  execution(r: ExecutionReport): void;
  /** An automatic retry of `kind` (the failure it remediates) and whether it `healed` or `failed` again. */
  remediation(kind: string, outcome: "healed" | "failed"): void;
  /** A container asked for: from the warm pool (hit) or created on demand (miss). */
  pool(runtime: string, hit: boolean): void;
  /** A request or execution refused by admission (429) for `tenant`. */
  rejection(tenant: string, reason: string): void;
  llm(r: LlmReport): void;
  /** One store operation's latency. */
  store(op: string, seconds: number): void;
}

const NOOP: Telemetry = {
  step() {},
  execution() {},
  remediation() {},
  pool() {},
  rejection() {},
  llm() {},
  store() {},
};

let sink: Telemetry = NOOP;

/**
 * The process's telemetry: reports go to the installed sink.
 * @example telemetry().remediation("out_of_memory", "healed")
 */
export function telemetry(): Telemetry {
  return sink;
}

/**
 * Installs `t` as the process's sink; the returned function restores the previous one (dispose).
 * @example const uninstall = installTelemetry(metrics.sink); ...; uninstall()
 */
export function installTelemetry(t: Telemetry): () => void {
  const previous = sink;
  sink = t;
  return () => {
    if (sink === t) sink = previous;
  };
}
