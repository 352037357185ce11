// A client-driven run as durability hooks: steps computed by the agent are checkpointed, service steps journaled.
import { MendApiError, MendFailure } from "./errors.ts";
import type { Transport } from "./http.ts";
import { canonicalJson, sha256Hex } from "./canonical-json.ts";
import { runEvents, type RunEvent } from "./sse.ts";
import type { ExecutionResponse, InputMismatch, Run, Step, StepAction } from "./wire-types.ts";

/** How `run.durable` derives each call's step key. */
export type DurableKeying = "counter" | "args";

/**
 * The value of an execution, or a MendFailure carrying its structured failure.
 * Code-mode: the script's return value; container: `{ stdout, stderr, exitCode, files }`.
 * @example const n = unwrap(await mend.execute({ sandbox: "codemode", code: "return 6*7" })) // 42
 */
export function unwrap(res: ExecutionResponse): unknown {
  if (res.status === "failed") {
    throw new MendFailure(
      res.failure ?? { kind: "runtime_error", layer: "code", message: "failed", retryable: false },
      res,
    );
  }
  if (res.result !== undefined) return res.result;
  if (res.stdout !== undefined || res.exitCode !== undefined) {
    return {
      stdout: res.stdout ?? "",
      stderr: res.stderr ?? "",
      exitCode: res.exitCode ?? null,
      files: res.files ?? [],
    };
  }
  return null;
}

/**
 * One client-driven run. Reopening the same run after a crash (`mend.runs.open(name)`) and replaying the
 * agent's code returns the recorded results of completed steps instead of doing the work again.
 * @example const run = await mend.runs.open("nightly-report"); const q = await run.step("query", () => db.query())
 */
export class DurableRun {
  readonly id: string;
  /** The run as it was when this handle was made. */
  readonly run: Run;
  readonly #t: Transport;
  readonly #calls = new Map<string, number>();
  /**
   * True when this handle's own request created the run (open() answered 201): its journal then holds
   * only the checkpoints this handle recorded, so a new key needs no read before its write — one request
   * per step instead of a GET that answers 404 and then the PUT.
   */
  readonly #created: boolean;
  /** Checkpoint keys this handle wrote, or tried to (only kept while #created: they may be journaled). */
  readonly #recorded = new Set<string>();

  constructor(t: Transport, run: Run, opts: { created?: boolean } = {}) {
    this.#t = t;
    this.run = run;
    this.id = run.id;
    this.#created = opts.created === true;
  }

  #path(suffix = ""): string {
    return `/v1/runs/${encodeURIComponent(this.id)}${suffix}`;
  }

  /** The recorded value of checkpoint `key`, or `undefined` when there is none. */
  async checkpoint(key: string): Promise<{ value: unknown } | undefined> {
    try {
      const cp = await this.#t.request<{ value: unknown }>({
        method: "GET",
        path: this.#path(`/checkpoints/${encodeURIComponent(key)}`),
      });
      return { value: cp.value };
    } catch (e) {
      if (e instanceof MendApiError && e.status === 404 && e.code === "not-found") {
        // 404 of a missing run is an error; 404 of a missing checkpoint means "not done yet".
        if (/checkpoint/.test(e.detail)) return undefined;
      }
      throw e;
    }
  }

  /**
   * Runs `fn` once for this run and key: a completed step returns its recorded value (JSON form) without
   * calling `fn`. A step whose `fn` threw is not recorded and runs again next time.
   * @example const hits = await run.step("search", () => search(q))
   */
  async step<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
    // A run this handle created has no checkpoint it did not record itself: a new key is not read first.
    if (!this.#created || this.#recorded.has(key)) {
      const done = await this.checkpoint(key);
      if (done) return done.value as T;
    }
    const value = JSON.parse(JSON.stringify((await fn()) ?? null)) as T;
    // Before the write: if its answer is lost, this key may be journaled, so a later call reads it first.
    if (this.#created) this.#recorded.add(key);
    // The first value written wins: the answer is the journal's value (ours unless another writer was first).
    const recorded = await this.#t.request<{ value: unknown }>({
      method: "PUT",
      path: this.#path(`/checkpoints/${encodeURIComponent(key)}`),
      body: { value },
      idempotencyKey: key,
    });
    return recorded.value as T;
  }

  /**
   * Wraps `fn` so that every call is a step. Keys: `"counter"` (default) — `name#1`, `name#2`, ... in call
   * order, so a replay must make the calls in the same order; `"args"` — `name:` + SHA-256 of the canonical
   * JSON of the arguments, so equal arguments share one recorded result whatever the order.
   * @example const search = run.durable("search", (q: string) => api.search(q)); await search("mend")
   */
  durable<A extends unknown[], R>(
    name: string,
    fn: (...args: A) => R | Promise<R>,
    opts: { key?: DurableKeying | undefined } = {},
  ): (...args: A) => Promise<R> {
    return async (...args: A) => {
      let key: string;
      if (opts.key === "args") key = `${name}:${await sha256Hex(canonicalJson(args))}`;
      else {
        const n = (this.#calls.get(name) ?? 0) + 1;
        this.#calls.set(name, n);
        key = `${name}#${n}`;
      }
      return this.step(key, () => fn(...args));
    };
  }

  /**
   * Executes `action` in the service as step `key` (once: the same key again returns the journaled
   * response with `replayed: true`). A failed execution is a value with `status: "failed"`. The same key
   * with a different action throws MendApiError 409 `step_input_mismatch` (the agent is not deterministic),
   * unless `onInputMismatch: "replay"` asks for the journaled response anyway.
   * @example const res = await run.execute("plot", { type: "container", image: "python", code })
   */
  async execute(
    key: string,
    action: StepAction,
    opts: { signal?: AbortSignal | undefined; onInputMismatch?: InputMismatch | undefined } = {},
  ): Promise<ExecutionResponse> {
    return this.#t.request<ExecutionResponse>({
      method: "POST",
      path: this.#path("/steps"),
      body: { key, action, ...(opts.onInputMismatch ? { onInputMismatch: opts.onInputMismatch } : {}) },
      idempotencyKey: key,
      signal: opts.signal,
    });
  }

  /** `execute`, returning the value or throwing MendFailure. */
  async result(key: string, action: StepAction): Promise<unknown> {
    return unwrap(await this.execute(key, action));
  }

  /** The run now. */
  get(): Promise<Run> {
    return this.#t.request<Run>({ method: "GET", path: this.#path() });
  }

  steps(): Promise<Step[]> {
    return this.#t.request<Step[]>({ method: "GET", path: this.#path("/steps") });
  }

  /** Marks the run succeeded with `output`. */
  complete(output: unknown): Promise<Run> {
    return this.#t.request<Run>({
      method: "POST",
      path: this.#path("/complete"),
      body: { output },
      idempotencyKey: `${this.id}:complete`,
    });
  }

  cancel(): Promise<Run> {
    return this.#t.request<Run>({
      method: "POST",
      path: this.#path("/cancel"),
      idempotencyKey: `${this.id}:cancel`,
    });
  }

  /** Follows the run's events until it finishes (see `mend.runs.events`). */
  events(
    opts: { lastEventId?: number | undefined; signal?: AbortSignal | undefined } = {},
  ): AsyncGenerator<RunEvent> {
    return runEvents(this.#t, this.id, opts);
  }
}
