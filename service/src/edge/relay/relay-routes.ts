// /v1/relay: code-mode executions whose tools are hosted by the client, over one NDJSON response stream.
import { Hono } from "hono";
import { stream } from "hono/streaming";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { fromStoreError, HttpProblem } from "../problem.ts";
import { idempotencyKey, readBody, validate } from "../read-body.ts";
import { Type } from "@sinclair/typebox";
import { RelayAnswerSchema, RelayStartSchema, type RelayEvent } from "@mend/wire";
import type { ActionSpec } from "../../engine/step-action.ts";
import { RelaySession } from "../../tools/relay-session.ts";
import { relayedTool } from "../../tools/relayed-tool.ts";
import { checkToolSchema } from "../../tools/schema-check.ts";

const HEARTBEAT_MS = 15_000;
const Seq = Type.String({ pattern: "^[1-9][0-9]{0,8}$" });

/**
 * POST / streams relay events (started, tool_call, ping, result|error) as NDJSON while the script runs;
 * POST /:id/results/:seq delivers the client's answer to one tool call.
 * @example app.route("/v1/relay", relayRoutes(services))
 */
export function relayRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  const sessions = new Map<string, RelaySession>();

  r.post("/executions", async (c) => {
    const who = c.get("caller");
    const body = await readBody(c, RelayStartSchema);
    // Client tools' schemas are checked like registered ones: a pattern RE2 cannot run is refused here.
    const problems = body.tools.flatMap((t, i) =>
      t.inputSchema === undefined ? [] : checkToolSchema(t.inputSchema, `/tools/${i}/inputSchema`, false),
    );
    if (problems.length > 0) {
      throw new HttpProblem(
        400,
        "validation",
        `a client tool's schema is unusable: ${problems[0]!.path} ${problems[0]!.message}`,
        {
          errors: problems,
        },
      );
    }
    const { run, key, admitted } = await s.runs.relayTarget(who, {
      runId: body.runId,
      key: body.key,
      idempotencyKey: idempotencyKey(c),
      clientTools: body.tools.map((t) => t.name),
    });
    const session = new RelaySession(who.tenant);
    sessions.set(session.id, session);
    const action = {
      type: "codemode",
      code: body.code,
      language: body.language,
      engine: body.engine,
      limits: body.limits,
      seed: body.seed,
      tools: body.serverTools ?? [],
      relayedTools: body.tools.map((t) => t.name),
    } as unknown as ActionSpec;
    c.header("content-type", "application/x-ndjson");
    c.header("cache-control", "no-cache");
    return stream(c, async (out) => {
      const write = (ev: RelayEvent) => void out.write(JSON.stringify(ev) + "\n").catch(() => undefined);
      session.onEvent = write;
      out.onAbort(() => session.close("the client disconnected"));
      const beat = setInterval(() => write({ type: "ping" }), HEARTBEAT_MS);
      try {
        write({ type: "started", id: session.id, runId: run.id, key });
        const extra = body.tools.map((t) => relayedTool(session, t));
        const res = await s.runs.relayStep(who, run, key, action, extra, admitted);
        write({ type: "result", execution: res });
      } catch (err) {
        const stored = fromStoreError(err);
        if (!stored) c.get("log").error({ err }, "relay execution failed on the host path");
        write({
          type: "error",
          problem: stored
            ? {
                type: `urn:mend:problem:${stored.type}`,
                title: "Storage unavailable",
                status: stored.status,
                detail: stored.message,
              }
            : {
                type: "urn:mend:problem:internal",
                title: "Internal error",
                status: 500,
                detail: (err as Error).message,
              },
        });
      } finally {
        admitted();
        clearInterval(beat);
        session.close("the execution ended");
        sessions.delete(session.id);
      }
    });
  });

  r.post("/executions/:id/results/:seq", async (c) => {
    const session = sessions.get(c.req.param("id"));
    if (!session || session.tenant !== c.get("caller").tenant) {
      throw new HttpProblem(404, "not-found", `relay execution ${c.req.param("id")} is not running`);
    }
    const seq = Number(validate(Seq, c.req.param("seq"), "seq"));
    let answer;
    try {
      answer = await readBody(c, RelayAnswerSchema);
    } catch (e) {
      // An answer the service refuses (too deep, malformed) fails that call at once instead of
      // leaving the script waiting for its timeout; the client still gets the 400.
      if (e instanceof HttpProblem && e.status === 400) {
        session.answer(seq, { ok: false, error: { type: "RefusedAnswer", message: e.message } });
      }
      throw e;
    }
    const outcome = session.answer(seq, answer);
    if (outcome === "unknown")
      throw new HttpProblem(404, "not-found", `relay execution ${session.id} has no tool call ${seq}`);
    return c.body(null, 204);
  });

  return r;
}
