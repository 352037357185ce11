// mend.runs: create, read and drive runs; `open` makes a named client-driven run that survives a crash.
import { DurableRun } from "./durable-run.ts";
import { newIdempotencyKey, type RequestOptions, type Transport } from "./http.ts";
import { runEvents, type RunEvent } from "./sse.ts";
import type { CreateRun, ForkRun, Run, RunOrigin, RunStatus, RunsPage, Step } from "./wire-types.ts";

const runPath = (id: string, suffix = "") => `/v1/runs/${encodeURIComponent(id)}${suffix}`;
/** The POST that creates a run (`create`, and `open`, which also reads whether it created it). */
const createRequest = (body: CreateRun, idempotencyKey: string | undefined): RequestOptions => ({
  method: "POST",
  path: "/v1/runs",
  body,
  idempotencyKey,
});

/**
 * The runs of the caller's tenant.
 * @example const page = await mend.runs.list({ status: "failed", limit: 20 })
 */
export class RunsApi {
  readonly #t: Transport;

  constructor(t: Transport) {
    this.#t = t;
  }

  /** Creates a run; with `idempotencyKey`, the same key returns the run the first call created. */
  create(body: CreateRun, opts: { idempotencyKey?: string | undefined } = {}): Promise<Run> {
    return this.#t.request<Run>(createRequest(body, opts.idempotencyKey));
  }

  /**
   * Opens the client-driven run called `name`: created the first time, the same run every time after
   * (the name is the creation's Idempotency-Key), so an agent restarted after a crash continues it.
   * @example const run = await mend.runs.open("ingest-2025-06-01", { goal: "Ingest the day's files" })
   */
  async open(name: string, opts: Omit<CreateRun, "mode"> = {}): Promise<DurableRun> {
    const res = await this.#t.send(
      createRequest({ mode: "client", ...opts, metadata: { name, ...opts.metadata } }, name),
    );
    // 201: this very request created the run (a retry that found it, or a restarted agent, gets 200), so
    // the handle knows the journal is empty and steps without reading it first.
    return new DurableRun(this.#t, (await res.json()) as Run, { created: res.status === 201 });
  }

  /** A handle on an existing run, by id. */
  async attach(id: string): Promise<DurableRun> {
    return new DurableRun(this.#t, await this.get(id));
  }

  get(id: string): Promise<Run> {
    return this.#t.request<Run>({ method: "GET", path: runPath(id) });
  }

  /** A page of runs of every origin, or of one (`origin: "one-off" | "mcp" | "client" | "hosted"`). */
  list(
    q: {
      status?: RunStatus | undefined;
      origin?: RunOrigin | undefined;
      limit?: number | undefined;
      cursor?: string | undefined;
      /** Only the forks of this run. */
      parentRunId?: string | undefined;
    } = {},
  ): Promise<RunsPage> {
    return this.#t.request<RunsPage>({ method: "GET", path: "/v1/runs", query: q });
  }

  /** Every page of runs, newest first. */
  async *all(
    q: { status?: RunStatus | undefined; origin?: RunOrigin | undefined; pageSize?: number | undefined } = {},
  ): AsyncGenerator<Run> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ status: q.status, origin: q.origin, limit: q.pageSize ?? 100, cursor });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /**
   * Forks run `id` at step `atSeq`: a new run that replays the parent's steps before it (not executed again)
   * and continues live with the given goal, model, tools or edited step (`replace`, hosted runs). Without
   * `idempotencyKey` each call is a new fork (its retries are not); with one, the same key returns the first fork.
   * @example const retry = await mend.runs.fork(run.id, { atSeq: 4, model: { name: "gpt-4.1" } })
   */
  fork(id: string, body: ForkRun, opts: { idempotencyKey?: string | undefined } = {}): Promise<Run> {
    return this.#t.request<Run>({
      method: "POST",
      path: runPath(id, "/fork"),
      body,
      idempotencyKey: opts.idempotencyKey,
    });
  }

  /**
   * Every fork of run `id` (GET /v1/runs?parentRunId=), newest first.
   * @example for await (const f of mend.runs.forks(run.id)) console.log(f.id, f.forkedAtSeq)
   */
  async *forks(id: string, q: { pageSize?: number | undefined } = {}): AsyncGenerator<Run> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ parentRunId: id, limit: q.pageSize ?? 100, cursor });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** The run's journal. */
  steps(id: string): Promise<Step[]> {
    return this.#t.request<Step[]>({ method: "GET", path: runPath(id, "/steps") });
  }

  cancel(id: string): Promise<Run> {
    return this.#t.request<Run>({
      method: "POST",
      path: runPath(id, "/cancel"),
      idempotencyKey: `${id}:cancel`,
    });
  }

  /** Answers a run waiting for input. */
  input(id: string, input: unknown, opts: { idempotencyKey?: string | undefined } = {}): Promise<Run> {
    return this.#t.request<Run>({
      method: "POST",
      path: runPath(id, "/input"),
      body: { input },
      idempotencyKey: opts.idempotencyKey,
    });
  }

  /**
   * Resumes a failed or waiting run from where it stopped (a hosted run backing off from a model outage
   * calls its model now).
   */
  resume(id: string): Promise<Run> {
    return this.#t.request<Run>({
      method: "POST",
      path: runPath(id, "/resume"),
      idempotencyKey: `${id}:resume:${newIdempotencyKey()}`,
    });
  }

  /** Marks a client-driven run succeeded with `output`. */
  complete(id: string, output: unknown): Promise<Run> {
    return this.#t.request<Run>({
      method: "POST",
      path: runPath(id, "/complete"),
      body: { output },
      idempotencyKey: `${id}:complete`,
    });
  }

  /**
   * Follows a run's events over SSE until it finishes, resuming with Last-Event-ID after a dropped stream.
   * @example for await (const ev of mend.runs.events(run.id)) console.log(ev.type, ev.data)
   */
  events(
    id: string,
    opts: { lastEventId?: number | undefined; signal?: AbortSignal | undefined } = {},
  ): AsyncGenerator<RunEvent> {
    return runEvents(this.#t, id, opts);
  }

  /** Trajectories as parsed JSON Lines (GET /v1/runs/export). */
  async export(q: { status?: RunStatus | undefined; run?: string | undefined } = {}): Promise<unknown[]> {
    const res = await this.#t.request<Response>({
      method: "GET",
      path: "/v1/runs/export",
      query: { ...q, format: "jsonl" },
      raw: true,
    });
    const text = await res.text();
    return text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as unknown);
  }
}
