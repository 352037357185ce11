// JSON logs with pino (pretty when a human watches a TTY); children bind request, run and step ids.
import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Creates the service logger.
 * @example const log = createLogger("info"); log.child({ runId }).info("step started")
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  if (!destination && process.stdout.isTTY) {
    return pino({ level, transport: { target: "pino-pretty", options: { colorize: true } } });
  }
  return destination ? pino({ level }, destination) : pino({ level });
}
