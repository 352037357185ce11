// Tracing costs nothing when off: a service built without OTEL_* variables loads none of the OpenTelemetry
// SDK (checked with module resolve hooks in a child process); with them, the SDK loads. The API facade
// (@opentelemetry/api, no-op without an SDK) is not counted: prom-client's process CPU metric imports it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { tracingEnabled } from "../config/config.ts";

const run = promisify(execFile);
const here = (p: string) => new URL(p, import.meta.url).href;

/** Builds the services in a fresh process and prints the OpenTelemetry modules it resolved. */
const CHILD = `
import { registerHooks } from "node:module";
const seen = new Set();
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); if (r.url.includes("@opentelemetry") && !r.url.includes("@opentelemetry/api/")) seen.add(r.url); return r; } });
const { loadConfig } = await import(${JSON.stringify(here("../config/config.ts"))});
const { createLogger } = await import(${JSON.stringify(here("../log/logger.ts"))});
const { createServices } = await import(${JSON.stringify(here("./services.ts"))});
const { tracing } = await import(${JSON.stringify(here("../lib/tracing.ts"))});
const s = await createServices(loadConfig(), createLogger("silent"), { containers: false });
const on = tracing();
await s.dispose();
console.log(JSON.stringify({ modules: seen.size, tracing: on }));
`;

async function child(env: Record<string, string>): Promise<{ modules: number; tracing: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), "mend-tracing-"));
  try {
    const out = await run(process.execPath, ["--input-type=module", "-e", CHILD], {
      env: {
        PATH: process.env.PATH ?? "",
        MEND_DATA_DIR: dir,
        MEND_POLICIES_DIR: new URL("../../../policies", import.meta.url).pathname,
        ...env,
      },
      timeout: 120_000,
    });
    return JSON.parse(out.stdout.trim().split("\n").at(-1)!) as { modules: number; tracing: boolean };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("without OTEL_* variables no OpenTelemetry SDK module is loaded", async () => {
  assert.deepEqual(await child({}), { modules: 0, tracing: false });
});

test("with an OTLP endpoint the SDK loads and the tracer is installed", async () => {
  // Loopback, and nothing is exported: no span is made before the dispose.
  const r = await child({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" });
  assert.equal(r.tracing, true);
  assert.ok(r.modules > 0);
});

test("tracingEnabled follows the standard variables", () => {
  assert.equal(tracingEnabled({}), false);
  assert.equal(
    tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://127.0.0.1:4318/v1/traces" }),
    true,
  );
  assert.equal(
    tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" }),
    false,
  );
  assert.equal(
    tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_TRACES_EXPORTER: "none" }),
    false,
  );
  assert.equal(tracingEnabled({ OTEL_SERVICE_NAME: "mend" }), false);
});
