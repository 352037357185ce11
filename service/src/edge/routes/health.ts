// GET /healthz: 200 when the store can commit a write, 503 with the reason when it cannot; Docker and images are informative.
import type { IncomingMessage } from "node:http";
import { Hono, type Context } from "hono";
import type { Health } from "@mend/wire";
import type { SandboxLoad } from "@mend/sandboxes";
import { isLoopback } from "../../auth/loopback.ts";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { VERSION } from "../../version.ts";

export function healthRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.get("/healthz", async (c) => {
    let storeError: string | undefined;
    try {
      await s.store.ping();
    } catch (e) {
      storeError = (e as Error).message;
    }
    const [docker, images] = s.containers
      ? await Promise.all([s.containers.engineInfo(), s.containers.images().catch(() => [])])
      : [{ available: false }, []];
    const body: Health = {
      ok: storeError === undefined,
      version: VERSION,
      store: storeError === undefined ? { kind: s.store.kind } : { kind: s.store.kind, error: storeError },
      ...(fromLoopback(c) ? { replica: { id: s.replica.id, live: s.replica.live } } : {}),
      docker,
      images,
      ...(s.containers?.engines ? { engines: engineStates(s, fromLoopback(c)) } : {}),
      sandboxes: sandboxLoad(s, fromLoopback(c)),
    };
    return c.json(body, body.ok ? 200 : 503);
  });
  return r;
}

/** Every engine's state; the reason an engine is down (addresses) only for loopback callers. */
function engineStates(s: Services, detailed: boolean): Health["engines"] {
  return (s.containers?.engines?.() ?? []).map(({ error, ...e }) =>
    detailed && error !== undefined ? { ...e, error } : e,
  );
}

/** Load of every sandbox; per-tenant rows only for `detailed` (tenant names are not public). */
function sandboxLoad(s: Services, detailed: boolean): Health["sandboxes"] {
  const shape = (load: SandboxLoad) => {
    const { running, parked, queued, tenants } = load;
    return detailed ? { running, parked, queued, tenants } : { running, parked, queued };
  };
  const codemode: Record<string, ReturnType<typeof shape>> = {};
  for (const [name, engine] of Object.entries(s.codemode)) {
    const load = engine.load?.();
    if (load) codemode[name] = shape(load);
  }
  const containers = s.containers?.load?.();
  return { codemode, ...(containers ? { containers: shape(containers) } : {}) };
}

/** Whether the request comes over loopback (in-process requests count as local). */
function fromLoopback(c: Context<AppEnv>): boolean {
  const peer = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket.remoteAddress;
  return peer === undefined || isLoopback(peer);
}
