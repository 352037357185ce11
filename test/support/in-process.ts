// The service in process for the engine's and the loop's tests: the real composition root on a real SQLite
// file in a temp dir, real code-mode engines, no containers, and the Hono app driven with `app.request`.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../service/src/config/config.ts";
import { createLogger } from "../../service/src/log/logger.ts";
import { createServices, type Services } from "../../service/src/services/services.ts";
import { createApp } from "../../service/src/edge/app.ts";
import type { EventRecord } from "../../service/src/store/records.ts";
import { makeFailure } from "@mend/wire";
import type { ToolDefinition, ToolResult } from "../../service/src/tools/tool.ts";

const REPO_POLICIES = new URL("../../policies/", import.meta.url).pathname;

export interface InProcessOptions {
  /** Reuse a data dir (a "restart" of the service on the same journal); a fresh temp dir otherwise. */
  dataDir?: string;
  /** Policy files by name (`{ default: "name: default\n..." }`), written to a temp dir; else ./policies. */
  policies?: Record<string, string>;
  /** Extra MEND_* variables (e.g. the LLM provider). */
  env?: Record<string, string>;
}

/** What a JSON request through the app answered. */
export interface Reply {
  status: number;
  headers: Headers;
  /** Parsed JSON (problem+json included), or the text; `any` so assertions can reach into it. */
  body: any;
}

export interface InProcess {
  services: Services;
  dataDir: string;
  /** A JSON request through the app, without a socket. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** The raw app request (streams, MCP). */
  request(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /**
   * Stops at once, the way a process past its shutdown grace does: hosted drivers stop, in-flight work is
   * aborted and left unfinished (`started`, as after kill -9), or marked `interrupted` with `markInterrupted`;
   * then the services (engines, store) are disposed. Idempotent.
   */
  abandon(opts?: { markInterrupted?: boolean }): Promise<void>;
  /** Teardown: `abandon()`, so that a test failing with work in flight leaves no engine thread behind. */
  close(): Promise<void>;
}

/**
 * Builds the services and the app on a temp data dir (code-mode engines with 2 QuickJS workers).
 * @example const svc = await startInProcess({ policies: { default: "name: default\n" } }); await svc.close()
 */
export async function startInProcess(opts: InProcessOptions = {}): Promise<InProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "mend-inproc-"));
  let policiesDir = REPO_POLICIES;
  if (opts.policies) {
    policiesDir = mkdtempSync(join(tmpdir(), "mend-inproc-policies-"));
    for (const [name, text] of Object.entries(opts.policies))
      writeFileSync(join(policiesDir, `${name}.yaml`), text);
  }
  const config = loadConfig({
    MEND_DATA_DIR: dataDir,
    MEND_POLICIES_DIR: policiesDir,
    MEND_LOG_LEVEL: "silent",
    MEND_CODEMODE_WORKERS: "2",
    // Tool fixtures listen on loopback; the SSRF tests set "0" to see the default refusal.
    MEND_NETWORK_ALLOW_LOOPBACK: "1",
    ...opts.env,
  });
  const services = await createServices(config, createLogger("silent"), { containers: false });
  const app = createApp(services);
  let stopped: Promise<void> | null = null;
  const abandon = ({ markInterrupted = false } = {}): Promise<void> =>
    (stopped ??= (async () => {
      // Executions are aborted before the engines go away: an engine disposed with an execution in
      // flight respawns a worker thread after it when the execution times out, keeping the process alive.
      const loopStopped = services.loop.stop(0);
      const drained = await services.inflight.drain(0);
      await loopStopped;
      if (!drained && markInterrupted) await services.store.interruptStartedSteps();
      await services.dispose();
    })());
  return {
    services,
    dataDir,
    request: async (input, init) => app.request(input, init),
    async api(method, path, body, headers = {}) {
      const res = await app.request(path, {
        method,
        headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON: keep the text */
      }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    abandon,
    close: () => abandon(),
  };
}

/** A journaled run event; `data` is `any` so assertions can reach into it. */
export type JournaledEvent = EventRecord & { data: any };

/**
 * The first event of `runId` matching `pred`, already journaled or still to come (no polling).
 * @example await eventOf(services, runId, (e) => e.type === "step.started" && e.data.key === "k")
 */
export function eventOf(
  services: Services,
  runId: string,
  pred: (ev: JournaledEvent) => boolean,
): Promise<JournaledEvent> {
  return new Promise((resolve, reject) => {
    const off = services.events.onAppend(runId, (ev) => {
      // null: another replica's event; this helper follows one process.
      if (ev && pred(ev)) {
        off();
        resolve(ev);
      }
    });
    services.store.listEvents(runId, 0).then((all) => {
      const hit = all.find(pred);
      if (hit) {
        off();
        resolve(hit);
      }
    }, reject);
  });
}

/** Resolves once `check` is true, looking again after each turn of the event loop's timers. */
export async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 10));
}

/** A tool the test holds: each call waits until `open()`. */
export interface Gate {
  name: string;
  /** Calls so far, each with its arguments and idempotency key. */
  calls: { args: unknown; idempotencyKey: string }[];
  /** Resolves once the gate has been called `n` times. */
  called(n?: number): Promise<void>;
  /** Lets every waiting and future call through. */
  open(): void;
}

export interface GateOptions {
  /**
   * What a waiting call does when its step is aborted: answer `interrupted` as honest tools do (sleep,
   * HTTP and MCP tools; the default), or never answer, like a call whose process died (`silent`).
   */
  onAbort?: "interrupted" | "silent";
}

/**
 * Adds an in-process tool to the catalog (the way registered tool sources are added) that holds a step
 * in progress without a timer until the test opens it. Its name must be allowed by the policy.
 * @example const gate = addGate(svc.services, "test.gate"); ...; await gate.called(); gate.open()
 */
export function addGate(services: Services, name: string, opts: GateOptions = {}): Gate {
  let open = false;
  let waiting: (() => void)[] = [];
  const watchers: { n: number; resolve: () => void }[] = [];
  const calls: Gate["calls"] = [];
  const tool: ToolDefinition = {
    name,
    description: "Waits until the test opens the gate, then returns { n }, the call's number.",
    inputSchema: { type: "object", additionalProperties: true },
    version: "1",
    async invoke(args, ctx) {
      calls.push({ args, idempotencyKey: ctx.idempotencyKey });
      const n = calls.length;
      for (const w of watchers.filter((w) => n >= w.n)) w.resolve();
      const answer: ToolResult = { ok: true, value: { n } };
      if (open) return answer;
      return new Promise<ToolResult>((resolve) => {
        const waiter = (): void => resolve(answer);
        waiting.push(waiter);
        ctx.signal?.addEventListener("abort", () => {
          waiting = waiting.filter((w) => w !== waiter);
          if (opts.onAbort !== "silent")
            resolve({ ok: false, failure: makeFailure("interrupted", `${name} was interrupted`, true) });
        });
      });
    },
  };
  addTools(services, [tool]);
  return {
    name,
    calls,
    called: (n = 1) =>
      calls.length >= n ? Promise.resolve() : new Promise((resolve) => watchers.push({ n, resolve })),
    open() {
      open = true;
      for (const w of waiting) w();
      waiting = [];
    },
  };
}

/** Adds tool definitions for every tenant (a tool source, as registered HTTP and MCP tools are). */
export function addTools(services: Services, tools: ToolDefinition[]): void {
  services.catalog.addSource({ list: async () => tools });
}
