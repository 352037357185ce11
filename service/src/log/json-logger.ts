// A JSON-lines logger with pino's line format and levels that loads nothing but node:os.
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

/** How many of an AggregateError's errors a line carries (pino carries all; a tenant can make thousands). */
const MAX_AGGREGATE_ERRORS = 32;
/** How deep errors found inside an error's own fields are serialized as errors. */
const MAX_ERROR_DEPTH = 4;

const isErrorLike = (v: unknown): v is Error =>
  typeof v === "object" && v !== null && typeof (v as { message?: unknown }).message === "string";

/** The cause pino follows: an error-like `cause`, or what a VError-style `cause()` returns. */
function causeOf(err: Error): { cause: Error; verror: boolean } | undefined {
  const c = (err as { cause?: unknown }).cause;
  if (typeof c === "function") {
    const r: unknown = (c as (this: Error) => unknown).call(err);
    return isErrorLike(r) ? { cause: r, verror: true } : undefined;
  }
  return isErrorLike(c) ? { cause: c, verror: false } : undefined;
}

/** pino-std-serializers' messageWithCauses: "outer: inner: innermost", cycles cut. */
function messageWithCauses(err: Error, seen = new Set<Error>(), skip = false): string {
  const message = skip ? "" : err.message || "";
  if (seen.has(err)) return `${message}: ...`;
  const next = causeOf(err);
  if (next === undefined) return message;
  seen.add(err);
  return message + (next.verror ? "" : ": ") + messageWithCauses(next.cause, seen, next.verror);
}

/** pino-std-serializers' stackWithCauses: each stack, then "caused by: " and the cause's, cycles cut. */
function stackWithCauses(err: Error, seen = new Set<Error>()): string {
  const stack = typeof err.stack === "string" ? err.stack : "";
  if (seen.has(err)) return `${stack}\ncauses have become circular...`;
  const next = causeOf(err);
  if (next === undefined) return stack;
  seen.add(err);
  return `${stack}\ncaused by: ${stackWithCauses(next.cause, seen)}`;
}

/**
 * pino-std-serializers' `err` shape: type, message and stack with their causes, aggregateErrors, then every
 * enumerable field (inherited ones too); errors in those fields are serialized the same way, once each.
 */
function serializeError(err: Error, ancestors: Set<Error> = new Set()): Record<string, unknown> {
  ancestors.add(err);
  const ctor = (err as { constructor?: unknown }).constructor;
  const out: Record<string, unknown> = {
    type: typeof ctor === "function" ? ctor.name : err.name,
    message: messageWithCauses(err),
    stack: stackWithCauses(err),
  };
  const errors = (err as { errors?: unknown }).errors;
  if (Array.isArray(errors))
    out.aggregateErrors = errors
      .slice(0, MAX_AGGREGATE_ERRORS)
      .map((e: unknown) => (isErrorLike(e) && !ancestors.has(e) ? serializeError(e, new Set(ancestors)) : e));
  for (const key in err) {
    if (out[key] !== undefined || key === "__proto__") continue;
    const value = (err as unknown as Record<string, unknown>)[key];
    if (!isErrorLike(value)) out[key] = value;
    else if (key !== "cause" && !ancestors.has(value) && ancestors.size < MAX_ERROR_DEPTH)
      out[key] = serializeError(value, new Set(ancestors));
  }
  return out;
}

/**
 * JSON.stringify with pino's lenience: a BigInt becomes its decimal string, a repeated object or error
 * "[Circular]", an Error (anywhere) its serialized shape. It may still throw (a throwing getter or toJSON,
 * nesting deeper than the stack): the caller writes a line without the fields then.
 */
function stringify(record: Record<string, unknown>): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(record, (_key, value: unknown) => {
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "object" && value !== null) {
      if (seen.has(value)) return "[Circular]";
      seen.add(value);
      if (value instanceof Error) return serializeError(value);
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
  /** pid, hostname and the bindings of this logger and its parents: the first fields of each of its lines. */
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
    let merged: Record<string, unknown>;
    try {
      merged = { ...this.#prefix, ...bindings };
    } catch {
      merged = { ...this.#prefix, bindings: "[unreadable]" }; // a throwing getter or a revoked proxy
    }
    return new JsonLogger(this.level, this.#sink, merged);
  }

  #write(level: number, fields: object | string, msg: string | undefined): void {
    if (level < this.#threshold) return;
    let line: string;
    try {
      const record: Record<string, unknown> = { level, time: Date.now(), ...this.#prefix };
      if (typeof fields === "string") record.msg = fields;
      else {
        if (fields instanceof Error) record.err = fields;
        else
          for (const [k, v] of Object.entries(fields))
            Object.defineProperty(record, k, {
              value: v,
              enumerable: true,
              writable: true,
              configurable: true,
            });
        if (msg !== undefined) record.msg = msg;
        else if (fields instanceof Error) record.msg = fields.message;
      }
      line = stringify(record);
    } catch {
      // Fields no JSON can hold (a throwing getter or toJSON, a revoked proxy, nesting past the stack):
      // the line still says what happened, without them.
      line = JSON.stringify({
        level,
        time: Date.now(),
        pid: this.#prefix.pid,
        hostname: this.#prefix.hostname,
        msg: typeof msg === "string" ? msg : typeof fields === "string" ? fields : undefined,
        logFault: "the fields of this line could not be serialized",
      });
    }
    try {
      this.#sink.write(line + "\n");
    } catch {
      // A sink that throws (a destroyed stream): the line is lost, the service goes on.
    }
  }
}
