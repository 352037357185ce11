// The OpenTelemetry tracer behind the tracing port: OTLP over HTTP, W3C trace context, AsyncLocalStorage
// context. Imported only when OTEL_* variables turn tracing on (services/tracing-setup.ts), so a service
// without them loads none of the SDK.
import {
  context,
  defaultTextMapSetter,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import type { SpanAttributes, SpanHandle, Tracer } from "../lib/tracing.ts";
import { VERSION } from "../version.ts";

function clean(attrs: SpanAttributes): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out[k] = v;
  return out;
}

function handle(span: Span): SpanHandle {
  return {
    set: (attrs) => span.setAttributes(clean(attrs)),
    fail: (message) => span.setStatus({ code: SpanStatusCode.ERROR, message }),
  };
}

/** Runs `fn` in `span` (made current), ends it when `fn` settles; a throw is recorded and re-thrown. */
async function inSpan<T>(span: Span, fn: (h: SpanHandle) => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(context.active(), span), () => fn(handle(span)));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Starts the SDK (exporter endpoint, headers, sampler and resource from the standard OTEL_* variables)
 * and returns the port's implementation with its `shutdown` (flushes the spans still batched).
 * @example const t = startOtelTracer(); installTracer(t); ...; await t.shutdown()
 */
export function startOtelTracer(): Tracer & { shutdown(): Promise<void> } {
  const resource = resourceFromAttributes({
    "service.name": process.env.OTEL_SERVICE_NAME || "mend",
    "service.version": VERSION,
  }).merge(detectResources({ detectors: [envDetector] }));
  const delay = Number(process.env.OTEL_BSP_SCHEDULE_DELAY);
  const delayMs = Number.isFinite(delay) && delay > 0 ? delay : undefined;
  const provider = new TracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter(),
        // The standard variable; this SDK version no longer reads it itself.
        ...(delayMs !== undefined ? { scheduledDelayMillis: delayMs } : {}),
      }),
    ],
  });
  // The current span follows async calls (AsyncLocalStorage); the process has one context manager.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const w3c = new W3CTraceContextPropagator();
  const otel = provider.getTracer("mend", VERSION);
  return {
    span(name, attrs, fn) {
      return inSpan(otel.startSpan(name, { attributes: clean(attrs) }), fn);
    },
    request(name, headers, attrs, fn) {
      const parent = w3c.extract(context.active(), null, {
        keys: () => ["traceparent", "tracestate"],
        get: (_carrier, key) => headers(key),
      });
      const span = otel.startSpan(name, { kind: SpanKind.SERVER, attributes: clean(attrs) }, parent);
      return context.with(parent, () => inSpan(span, fn));
    },
    inject(headers) {
      w3c.inject(context.active(), headers, defaultTextMapSetter);
    },
    bind(fn) {
      return context.bind(context.active(), fn);
    },
    async shutdown() {
      await provider.shutdown();
      context.disable();
    },
  };
}
