// The tracing port: spans around requests, steps, sandbox executions, tool and LLM calls, and W3C trace
// context in and out. Off by default (a no-op that calls the function and adds nothing); the composition
// root installs the OpenTelemetry implementation only when OTEL_* variables ask for it, so no SDK loads.

/** Attribute values a span accepts. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** What the code inside a span may add to it. */
export interface SpanHandle {
  set(attrs: SpanAttributes): void;
  /** Marks the span as an error (a failure kind, a thrown error's message). */
  fail(message: string): void;
}

export interface Tracer {
  /** Runs `fn` inside a child span of the current one; the span ends when `fn` settles. */
  span<T>(name: string, attrs: SpanAttributes, fn: (span: SpanHandle) => Promise<T>): Promise<T>;
  /** Runs `fn` in the context of an incoming request's `traceparent`/`tracestate` (a server span). */
  request<T>(
    name: string,
    headers: (name: string) => string | undefined,
    attrs: SpanAttributes,
    fn: (span: SpanHandle) => Promise<T>,
  ): Promise<T>;
  /** Adds `traceparent` (and `tracestate`) of the current span to outgoing request headers. */
  inject(headers: Record<string, string>): void;
  /** Binds `fn` to the current context: callbacks fired from worker messages lose the async context. */
  bind<F extends (...args: never[]) => unknown>(fn: F): F;
}

/** A span that records nothing (work too short to trace on its own). */
export const NOOP_SPAN: SpanHandle = { set() {}, fail() {} };

const NOOP: Tracer = {
  span: (_name, _attrs, fn) => fn(NOOP_SPAN),
  request: (_name, _headers, _attrs, fn) => fn(NOOP_SPAN),
  inject() {},
  bind: (fn) => fn,
};

let current: Tracer = NOOP;

/**
 * The process's tracer (a no-op until one is installed).
 * @example await tracer().span("mend.tool", { "mend.tool": name }, async (span) => call())
 */
export function tracer(): Tracer {
  return current;
}

/** Whether a real tracer is installed (callers skip building attributes when not). */
export function tracing(): boolean {
  return current !== NOOP;
}

/**
 * Installs `t` as the process's tracer; the returned function restores the previous one.
 * @example const uninstall = installTracer(otel); ...; uninstall()
 */
export function installTracer(t: Tracer): () => void {
  const previous = current;
  current = t;
  return () => {
    if (current === t) current = previous;
  };
}
