// POST /v1/executions: run code once (code-mode or container), journaled under an implicit run.
import { Hono } from "hono";
import { ExecutionRequestSchema } from "@mend/wire";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { idempotencyKey, readBody } from "../read-body.ts";

export function executionRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.post("/", async (c) => {
    const body = await readBody(c, ExecutionRequestSchema);
    return c.json(await s.executor.oneOff(c.get("caller"), body, idempotencyKey(c)));
  });
  return r;
}
