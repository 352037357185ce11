// The service logger: JSON lines (json-logger.ts), or pino-pretty when a human watches a TTY.
import { createRequire } from "node:module";
import type { pino as Pino } from "pino";
import { JsonLogger, type Logger } from "./json-logger.ts";

export type { Logger };

/** Streams given an 'error' listener already (one each, however many loggers write to them). */
const HANDLED = new WeakSet<NodeJS.WritableStream>();

/**
 * Creates the service logger. pino is loaded only for the pretty TTY output: its module tree cost ~12 ms
 * of every start, and the JSON lines it would write are the ones JsonLogger writes.
 * @example const log = createLogger("info"); log.child({ runId }).info("step started")
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  if (!destination && process.stdout.isTTY) {
    const { pino } = createRequire(import.meta.url)("pino") as { pino: typeof Pino };
    return pino({ level, transport: { target: "pino-pretty", options: { colorize: true } } });
  }
  const out = destination ?? process.stdout;
  // A reader gone (a log shipper that exited, `| head`): the write's EPIPE arrives later as an 'error'
  // event, which would end the process unhandled. Lines are lost then; the service goes on (as with pino).
  if (!HANDLED.has(out)) {
    HANDLED.add(out);
    out.on("error", () => undefined);
  }
  return new JsonLogger(level, out);
}
