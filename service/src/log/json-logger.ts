// A JSON-lines logger with pino's line format and levels, small enough to load in well under a millisecond.
// pino itself took ~12 ms of every start (its module tree, read before the service can listen); the
// service only needs leveled lines, child bindings and error serialization, so this is what it runs
// unless a human watches a TTY (then logger.ts loads pino-pretty through pino).
import { hostname } from "node:os";

/** pino's level numbers, so existing log tooling and filters read Mend's lines unchanged. */
export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LevelName = keyof typeof LEVELS;

/** A logging call: an object of fields (`err` is serialized as an error) and a message. */
export type LogFn = (fields: object | string, msg?: string) => void;

/** What the service logs through; pino's own logger satisfies it too. */
export interface Logger {
  readonly level: string;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger whose every line carries `bindings` too. */
  child(bindings: Record<string, unknown>): Logger;
}

/** Where lines go: one `write` per line, each ending in "\n". */
export interface LineSink {
  write(line: string): unknown;
}

/** Nested errors (`cause`, errors inside `AggregateError`) are followed this deep; below it, their message. */
const MAX_ERROR_DEPTH = 4;

/** pino-std-serializers' shape: type, message, stack, then the error's own enumerable fields. */
function serializeError(err: Error, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: err.constructor?.name ?? "Error",
    message: err.message,
    stack: err.stack,
  };
  for (const [k, v] of Object.entries(err)) if (!(k in out)) out[k] = v;
  if (err.cause !== undefined)
    out.cause =
      depth < MAX_ERROR_DEPTH
        ? serializeValue(err.cause, depth + 1)
        : err.cause instanceof Error
          ? err.cause.message
          : "[cause not followed]";
  return out;
}

function serializeValue(v: unknown, depth: number): unknown {
  return v instanceof Error ? serializeError(v, depth) : v;
}

/**
 * JSON.stringify that cannot throw: a BigInt becomes its decimal string, a repeated object "[Circular]",
 * an Error its serialized shape at any depth. Logging must never turn a hostile value into a host fault.
 */
function stringify(record: Record<string, unknown>): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(record, (_key, value: unknown) => {
    if (typeof value === "bigint") return value.toString();
    if (value instanceof Error) return serializeError(value, 0);
    if (typeof value === "object" && value !== null) {
      if (seen.has(value)) return "[Circular]";
      seen.add(value);
    }
    return value;
  });
}

/**
 * A leveled JSON-lines logger: `{"level":30,"time":…,"pid":…,"hostname":…,<bindings>,<fields>,"msg":…}`.
 * @example
 * const log = new JsonLogger("info", process.stdout);
 * log.child({ runId: "r1" }).warn({ err }, "step failed");
 */
export class JsonLogger implements Logger {
  readonly level: string;
  readonly #threshold: number;
  readonly #sink: LineSink;
  /** The serialized `"pid":…,"hostname":…,<bindings>` part, shared by every line of this logger. */
  readonly #prefix: Record<string, unknown>;

  constructor(
    level: string,
    sink: LineSink,
    bindings: Record<string, unknown> = { pid: process.pid, hostname: hostname() },
  ) {
    this.level = level;
    this.#threshold = level in LEVELS ? LEVELS[level as LevelName] : Infinity; // "silent" and unknown names log nothing
    this.#sink = sink;
    this.#prefix = bindings;
  }

  trace: LogFn = (fields, msg) => this.#write(LEVELS.trace, fields, msg);
  debug: LogFn = (fields, msg) => this.#write(LEVELS.debug, fields, msg);
  info: LogFn = (fields, msg) => this.#write(LEVELS.info, fields, msg);
  warn: LogFn = (fields, msg) => this.#write(LEVELS.warn, fields, msg);
  error: LogFn = (fields, msg) => this.#write(LEVELS.error, fields, msg);
  fatal: LogFn = (fields, msg) => this.#write(LEVELS.fatal, fields, msg);

  child(bindings: Record<string, unknown>): Logger {
    return new JsonLogger(this.level, this.#sink, { ...this.#prefix, ...bindings });
  }

  #write(level: number, fields: object | string, msg: string | undefined): void {
    if (level < this.#threshold) return;
    const record: Record<string, unknown> = { level, time: Date.now(), ...this.#prefix };
    if (typeof fields === "string") record.msg = fields;
    else {
      if (fields instanceof Error) record.err = fields;
      else Object.assign(record, fields);
      if (msg !== undefined) record.msg = msg;
      else if (fields instanceof Error) record.msg = fields.message;
    }
    try {
      this.#sink.write(stringify(record) + "\n");
    } catch {
      // A closed or broken stdout: the line is lost, the service goes on (pino behaves the same).
    }
  }
}
