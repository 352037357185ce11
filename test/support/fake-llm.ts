// A scripted OpenAI-compatible model on loopback: the hosted loop's tests and the README demo talk to it
// over real HTTP through the real provider code.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { demoScript } from "./fake-llm-demo.ts";
import {
  chatCompletion,
  chatCompletionEvents,
  checkChatRequest,
  firstUserMessage,
  latestToolResults,
  type ChatRequest,
  type ToolResultMessage,
} from "./fake-llm-protocol.ts";
import type { Turn } from "./fake-llm-turns.ts";

export type { ChatMessage, ChatRequest, ToolResultMessage } from "./fake-llm-protocol.ts";

/**
 * The demo model's default port: its own, not a real model server's (11434 is Ollama's, 8080 Mend's), so the
 * demo never answers in place of a model someone runs, nor fails because one is running.
 */
export const DEMO_LLM_PORT = 18434;

/** What a script knows about the turn it is asked for. */
export interface TurnContext {
  /** The first user message (it carries the goal): the conversation's identity. */
  conversation: string;
  /** 0-based turn within the conversation (= assistant messages so far). */
  turn: number;
  /** Messages in the request, system included: with `conversation`, the identity of this turn. */
  messageCount: number;
  /** Earlier requests for this same turn (retries after an error turn, or re-asks after a crash). */
  attempt: number;
  /** Tool results since the last assistant message, and the last of them. */
  toolResults: ToolResultMessage[];
  lastToolResult: ToolResultMessage | undefined;
  /** The last user message (e.g. a human's answer), if the request ends with one. */
  lastUserMessage: string | undefined;
  /** The Idempotency-Key header, if the provider sent one. */
  idempotencyKey: string | undefined;
}

export type Script = (request: ChatRequest, turn: number, ctx: TurnContext) => Turn | Promise<Turn>;

export interface FakeLlmOptions {
  /** The script, a function of the request, the turn number and the context; or... */
  script?: Script;
  /** ...the same list of turns for every conversation (past its end: a 400 naming the missing turn). */
  turns?: Turn[];
  /** Added to every answer (default 0). */
  latencyMs?: number;
  port?: number;
  host?: string;
  /** Keep each request body in `requests` (default true; off for benchmarks with thousands of runs). */
  keepBodies?: boolean;
  /** Called after each request is answered (e.g. for logging). */
  onRequest?: (record: FakeLlmRecord) => void;
}

/** One request the fake LLM received and what it answered. */
export interface FakeLlmRecord {
  seq: number;
  conversation: string;
  turn: number;
  messageCount: number;
  attempt: number;
  status: number;
  /** Whether the answer was written completely to an open connection. */
  delivered: boolean;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  reply: Turn | undefined;
  body: ChatRequest | undefined;
  atMs: number;
}

export interface FakeLlm {
  /** Base URL for the provider, e.g. http://127.0.0.1:40123/v1. */
  url: string;
  port: number;
  requests: FakeLlmRecord[];
  /** Requests per conversation (first user message). */
  countByConversation(): Map<string, number>;
  /** The requests of the conversations whose first user message contains `goal`. */
  seen(goal: string): FakeLlmRecord[];
  /** Turns answered (2xx) more than once: [] means each turn was seen exactly once. */
  repeatedTurns(goal?: string): { conversation: string; messageCount: number; count: number }[];
  /** Script failures (thrown errors, exhausted turn lists), answered with 400. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Starts the fake model on a free loopback port.
 * @example
 * const llm = await startFakeLlm({ script: (_req, turn) => (turn === 0 ? runCode("python", "print(1)") : finish("1")) });
 * // MEND_LLM_PROVIDER=openai MEND_LLM_BASE_URL=llm.url ... ; await llm.close()
 */
export async function startFakeLlm(options: FakeLlmOptions): Promise<FakeLlm> {
  const script = options.script ?? scriptOfTurns(options.turns ?? []);
  const keepBodies = options.keepBodies ?? true;
  const requests: FakeLlmRecord[] = [];
  const errors: string[] = [];
  const attempts = new Map<string, number>();
  let seq = 0;

  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "GET" && path.endsWith("/models")) {
      return send(res, 200, {
        object: "list",
        data: [{ id: "fake", object: "model", owned_by: "mend-tests" }],
      });
    }
    if (req.method !== "POST" || !path.endsWith("/chat/completions")) {
      return send(res, 404, { error: { message: `no route ${req.method} ${path}`, type: "not_found" } });
    }
    let body: ChatRequest;
    try {
      body = JSON.parse(await readText(req)) as ChatRequest;
    } catch {
      return send(res, 400, invalid("the body is not JSON"));
    }
    const problem = checkChatRequest(body);
    if (problem) {
      errors.push(problem);
      return send(res, 400, invalid(problem));
    }
    const conversation = firstUserMessage(body);
    const messageCount = body.messages.length;
    const turn = body.messages.filter((m) => m.role === "assistant").length;
    const key = `${messageCount}\u0000${conversation}`;
    const attempt = attempts.get(key) ?? 0;
    attempts.set(key, attempt + 1);
    const toolResults = latestToolResults(body);
    const last = body.messages.at(-1);
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const ctx: TurnContext = {
      conversation,
      turn,
      messageCount,
      attempt,
      toolResults,
      lastToolResult: toolResults.at(-1),
      lastUserMessage: last?.role === "user" ? (last.content ?? "") : undefined,
      idempotencyKey: header("idempotency-key"),
    };
    const record: FakeLlmRecord = {
      seq: ++seq,
      conversation,
      turn,
      messageCount,
      attempt,
      status: 0,
      delivered: false,
      idempotencyKey: ctx.idempotencyKey,
      authorization: header("authorization"),
      reply: undefined,
      body: keepBodies ? body : undefined,
      atMs: Date.now(),
    };
    requests.push(record);
    res.on("finish", () => {
      record.delivered = true;
      options.onRequest?.(record);
    });
    let reply: Turn;
    try {
      reply = await script(body, turn, ctx);
    } catch (err) {
      const message = `fake-llm script failed on turn ${turn}: ${err instanceof Error ? err.message : String(err)}`;
      errors.push(message);
      record.status = 400;
      return send(res, 400, invalid(message));
    }
    record.reply = reply;
    if ("hang" in reply) return; // the client's timeout (or close()) ends it
    if ("stall" in reply) {
      // Headers, then silence: only a stall timeout (or close()) ends it.
      record.status = 200;
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.flushHeaders();
      return;
    }
    const delayMs = (options.latencyMs ?? 0) + (reply.delayMs ?? 0);
    if (delayMs > 0 && !(await wait(delayMs, res))) return;
    if ("raw" in reply) {
      record.status = reply.status ?? 200;
      res.writeHead(record.status, { "content-type": "application/json" }).end(reply.raw);
    } else if ("status" in reply) {
      record.status = reply.status;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (reply.retryAfter !== undefined) headers["retry-after"] = String(reply.retryAfter);
      res
        .writeHead(reply.status, headers)
        .end(reply.body ?? JSON.stringify(invalid(`scripted HTTP ${reply.status}`)));
    } else {
      record.status = 200;
      const completion = chatCompletion(body, reply, turn, record.seq);
      // Streamed when asked, as OpenAI does (the providers ask; a request without `stream` gets JSON).
      if ((body as { stream?: unknown }).stream === true) {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        for (const ev of chatCompletionEvents(completion)) res.write(ev);
        res.end();
      } else send(res, 200, completion);
    }
  };

  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    answer(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { message: String(err) } });
    });
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve),
  );
  const { port, address } = server.address() as AddressInfo;

  const matching = (goal?: string): FakeLlmRecord[] =>
    goal === undefined ? requests : requests.filter((r) => r.conversation.includes(goal));
  return {
    url: `http://${address}:${port}/v1`,
    port,
    requests,
    errors,
    countByConversation() {
      const counts = new Map<string, number>();
      for (const r of requests) counts.set(r.conversation, (counts.get(r.conversation) ?? 0) + 1);
      return counts;
    },
    seen: (goal) => matching(goal),
    repeatedTurns(goal) {
      const counts = new Map<string, { conversation: string; messageCount: number; count: number }>();
      for (const r of matching(goal)) {
        if (r.status < 200 || r.status >= 300) continue;
        const key = `${r.messageCount}\u0000${r.conversation}`;
        const entry = counts.get(key) ?? {
          conversation: r.conversation,
          messageCount: r.messageCount,
          count: 0,
        };
        entry.count++;
        counts.set(key, entry);
      }
      return [...counts.values()].filter((e) => e.count > 1);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A script playing the same list of turns in every conversation.
 * @example startFakeLlm({ script: scriptOfTurns([runOrchestration("return 1"), finish("1")]) })
 */
export function scriptOfTurns(turns: Turn[]): Script {
  return (_request, turn) => {
    const t = turns[turn];
    if (!t) throw new Error(`the script has ${turns.length} turns; turn ${turn} was asked for`);
    return t;
  };
}

function invalid(message: string): object {
  return { error: { message, type: "invalid_request_error" } };
}

function send(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Resolves true after `ms`, or false if the client went away first. */
function wait(ms: number, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off("close", onClose);
      resolve(true);
    }, ms);
    res.once("close", onClose);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: String(DEMO_LLM_PORT) },
      host: { type: "string", default: "127.0.0.1" },
      "latency-ms": { type: "string", default: "0" },
      demo: { type: "boolean", default: true },
    },
  });
  const llm = await startFakeLlm({
    script: demoScript,
    port: Number(values.port),
    host: values.host,
    latencyMs: Number(values["latency-ms"]),
    keepBodies: false,
    onRequest: (r) => {
      const reply =
        r.reply && "toolCalls" in r.reply ? r.reply.toolCalls?.map((c) => c.name).join(", ") : r.status;
      console.log(`turn ${r.turn} of "${r.conversation.slice(0, 60)}" → ${reply}`);
    },
  });
  console.log(`fake LLM (OpenAI-compatible, demo script) listening on ${llm.url}`);
  console.log(`  MEND_LLM_PROVIDER=openai MEND_LLM_BASE_URL=${llm.url} MEND_LLM_MODEL=fake`);
  const stop = (): void => void llm.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (import.meta.main) await main();
