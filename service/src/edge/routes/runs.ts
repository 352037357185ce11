// /v1/runs: create, list, read, fork, the journal, client-driven steps, checkpoints, completion and cancellation.
import { Hono } from "hono";
import {
  CheckpointBodySchema,
  CompleteBodySchema,
  CreateRunSchema,
  ExportRunsQuerySchema,
  ForkRunSchema,
  InputBodySchema,
  ListRunsQuerySchema,
  StepKeySchema,
  StepRequestSchema,
} from "@mend/wire";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { idempotencyKey, readBody, readQuery, validate } from "../read-body.ts";
import { runView, stepView } from "../../engine/run-view.ts";
import { streamRunEvents } from "./run-events-stream.ts";
import { stream } from "hono/streaming";
import { exportTrajectories } from "../../engine/trajectories.ts";

export function runRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.post("/", async (c) => {
    const body = await readBody(c, CreateRunSchema);
    const idem = idempotencyKey(c);
    const { run, created } = await s.runs.create(c.get("caller"), body, idem);
    return c.json(runView(run), created ? 201 : 200);
  });
  r.get("/", async (c) => {
    const q = readQuery(c, ListRunsQuerySchema);
    const page = await s.runs.list(c.get("caller"), q);
    return c.json({ items: page.items.map(runView), nextCursor: page.nextCursor });
  });
  r.get("/export", (c) => {
    const q = readQuery(c, ExportRunsQuerySchema);
    c.header("content-type", "application/x-ndjson; charset=utf-8");
    c.header(
      "content-disposition",
      `attachment; filename="mend-runs${q.status ? `-${q.status}` : ""}.jsonl"`,
    );
    return stream(c, async (out) => {
      for await (const line of exportTrajectories(s.store, c.get("caller"), {
        status: q.status,
        runId: q.run,
      })) {
        if (out.aborted) break;
        await out.write(line);
      }
    });
  });
  r.get("/:id", async (c) => c.json(runView(await s.runs.get(c.get("caller"), c.req.param("id")))));
  r.get("/:id/steps", async (c) =>
    c.json((await s.runs.steps(c.get("caller"), c.req.param("id"))).map(stepView)),
  );
  r.post("/:id/steps", async (c) => {
    const body = await readBody(c, StepRequestSchema);
    return c.json(
      await s.runs.step(c.get("caller"), c.req.param("id"), body.key, body.action, {
        ...(body.onInputMismatch ? { onInputMismatch: body.onInputMismatch } : {}),
      }),
    );
  });
  r.put("/:id/checkpoints/:key", async (c) => {
    const key = validate(StepKeySchema, c.req.param("key"), "checkpoint key");
    const body = await readBody(c, CheckpointBodySchema);
    const value = await s.runs.putCheckpoint(c.get("caller"), c.req.param("id"), key, body.value);
    return c.json({ key, value });
  });
  r.get("/:id/checkpoints/:key", async (c) => {
    const key = validate(StepKeySchema, c.req.param("key"), "checkpoint key");
    const cp = await s.runs.getCheckpoint(c.get("caller"), c.req.param("id"), key);
    return c.json({ key, value: cp.value, createdAt: new Date(cp.createdAt).toISOString() });
  });
  r.post("/:id/complete", async (c) => {
    const body = await readBody(c, CompleteBodySchema);
    return c.json(runView(await s.runs.complete(c.get("caller"), c.req.param("id"), body.output)));
  });
  r.post("/:id/input", async (c) => {
    const body = await readBody(c, InputBodySchema);
    return c.json(runView(await s.runs.input(c.get("caller"), c.req.param("id"), body.input)));
  });
  r.post("/:id/resume", async (c) =>
    c.json(runView(await s.runs.resume(c.get("caller"), c.req.param("id")))),
  );
  r.post("/:id/fork", async (c) => {
    const body = await readBody(c, ForkRunSchema);
    const { run, created } = await s.runs.fork(c.get("caller"), c.req.param("id"), body, idempotencyKey(c));
    return c.json(runView(run), created ? 201 : 200);
  });
  r.post("/:id/cancel", async (c) =>
    c.json(runView(await s.runs.cancel(c.get("caller"), c.req.param("id")))),
  );
  r.get("/:id/events", (c) => streamRunEvents(c, s));
  return r;
}
