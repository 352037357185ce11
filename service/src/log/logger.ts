// The service logger: JSON lines (json-logger.ts), or pino-pretty when a human watches a TTY.
import { createRequire } from "node:module";
import type { pino as Pino } from "pino";
import { JsonLogger, type Logger } from "./json-logger.ts";

export type { Logger };

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
  return new JsonLogger(level, destination ?? process.stdout);
}
