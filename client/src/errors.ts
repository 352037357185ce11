// The client's two error types: a refused request (problem+json) and a failed execution where a value was asked for.
import type { Failure, Problem } from "./wire-types.ts";

/**
 * The service refused the request (4xx/5xx, `application/problem+json`): nothing was executed.
 * @example try { await mend.runs.get("run_x") } catch (e) { if (e instanceof MendApiError && e.status === 404) ... }
 */
export class MendApiError extends Error {
  override name = "MendApiError";
  readonly status: number;
  /** The problem type, e.g. `urn:mend:problem:validation`. */
  readonly type: string;
  readonly detail: string;
  /** Validation errors: the JSON path of each offending field. */
  readonly errors: { path: string; message: string }[];
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.problem = problem;
    this.status = problem.status;
    this.type = problem.type;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
  }

  /** The suffix of the problem type (`validation`, `not-found`, `conflict`, ...). */
  get code(): string {
    return this.type.replace(/^urn:mend:problem:/, "");
  }
}

/**
 * An execution failed where the caller asked for its value (`run.execute`, `run.step` of a relayed script, ...).
 * Carries the structured failure of FAILURES.md, for the agent to reason about.
 * @example catch (e) { if (e instanceof MendFailure && e.failure.kind === "timeout") ... }
 */
export class MendFailure extends Error {
  override name = "MendFailure";
  readonly failure: Failure;
  /** The execution that failed, when there was one. */
  readonly execution: unknown;

  constructor(failure: Failure, execution?: unknown) {
    super(`${failure.kind}: ${failure.message}`);
    this.failure = failure;
    this.execution = execution;
  }
}

/** The service could not be reached after every retry (connection refused, reset, timed out). */
export class MendConnectionError extends Error {
  override name = "MendConnectionError";
}
