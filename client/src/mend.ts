// The client's entry point: one object holding the transport and the API groups.
import { CodeModeApi } from "./codemode-relay.ts";
import { Transport, type FetchLike, type RetryOptions } from "./http.ts";
import { RunsApi } from "./runs-api.ts";
import { ToolsApi } from "./tools-api.ts";
import type { ExecutionRequest, ExecutionResponse, Health, Usage } from "./wire-types.ts";

export interface MendOptions {
  /** e.g. "http://127.0.0.1:8080" */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string | undefined;
  /** A fetch implementation (default: the platform's). */
  fetch?: FetchLike | undefined;
  /** Retries of transient errors: a count of retries, or options (default: 3 retries). */
  retries?: number | RetryOptions | undefined;
}

/**
 * A Mend client. Works wherever `fetch` exists: Node 20+, Deno, Bun, browsers.
 * @example
 * const mend = new Mend({ baseUrl: "http://127.0.0.1:8080" });
 * const res = await mend.execute({ sandbox: "codemode", code: "return 6 * 7" }); // res.result === 42
 */
export class Mend {
  readonly runs: RunsApi;
  readonly tools: ToolsApi;
  readonly codemode: CodeModeApi;
  readonly #t: Transport;

  constructor(opts: MendOptions) {
    this.#t = new Transport(opts);
    this.runs = new RunsApi(this.#t);
    this.tools = new ToolsApi(this.#t);
    this.codemode = new CodeModeApi(this.#t);
  }

  get baseUrl(): string {
    return this.#t.baseUrl;
  }

  /**
   * Runs code once (journaled under an implicit run). A failed execution is returned with
   * `status: "failed"` and a structured `failure`; pass the response to `unwrap` to get a value or a throw.
   */
  execute(
    req: ExecutionRequest,
    opts: { idempotencyKey?: string | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<ExecutionResponse> {
    return this.#t.request<ExecutionResponse>({ method: "POST", path: "/v1/executions", body: req, ...opts });
  }

  /**
   * GET /v1/usage: what the tenant stores (journal, blob and cache bytes), its open event streams, and the
   * quotas of its policy. A write past a quota is refused with 507 `quota_exceeded`.
   * @example const { usage, limits } = await mend.usage(); usage.journalBytes / (limits.journalBytes ?? Infinity)
   */
  usage(): Promise<Usage> {
    return this.#t.request<Usage>({ method: "GET", path: "/v1/usage" });
  }

  /** GET /healthz (a 503 "not ok" answer is returned, not thrown). */
  health(): Promise<Health> {
    return this.#t.request<Health>({ method: "GET", path: "/healthz", accept: [503] });
  }
}
