// The Hono environment shared by every route: per-request variables set by middleware.
import type { Logger } from "../log/logger.ts";
import type { Caller } from "../core/caller.ts";
import type { ServerResponse } from "node:http";

/** What middleware puts on the context for routes. */
export interface AppEnv {
  /** Served on a socket, @hono/node-server's env: the Node response (absent under `app.request`). */
  Bindings: { outgoing?: ServerResponse };
  Variables: {
    requestId: string;
    log: Logger;
    caller: Caller;
  };
}
