// The Hono environment shared by every route: per-request variables set by middleware.
import type { Logger } from "../log/logger.ts";
import type { Caller } from "../core/caller.ts";

/** What middleware puts on the context for routes. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    caller: Caller;
  };
}
