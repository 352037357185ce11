// One provider instance per (provider, endpoint, key), shared by the runs that use it.
import type { Config } from "../config/config.ts";
import { createProvider, resolveModel } from "../llm/create-provider.ts";
import type { LlmProvider } from "../llm/llm-provider.ts";
import type { RunRecord } from "../store/records.ts";
import { telemetry } from "../lib/telemetry.ts";
import { tracer } from "../lib/tracing.ts";

/**
 * Resolves a run's model (env settings merged with the run's `model`) to a provider.
 * @example const m = models.modelFor(run); if (m) await m.provider.complete(...)
 */
export class ModelRegistry {
  readonly #config: Config;
  readonly #providers = new Map<string, LlmProvider>();

  constructor(config: Config) {
    this.#config = config;
  }

  modelFor(
    run: Pick<RunRecord, "model">,
  ): { provider: LlmProvider; model: string; temperature?: number } | null {
    const resolved = resolveModel(this.#config.llm, run.model ?? undefined);
    if (!resolved) return null;
    const key = `${resolved.provider}\0${resolved.baseUrl ?? ""}\0${resolved.apiKey ?? ""}`;
    let provider = this.#providers.get(key);
    if (!provider) {
      const { stallMs, callMs } = this.#config.llmTimeouts;
      provider = observed(createProvider(resolved, { stallTimeoutMs: stallMs, attemptTimeoutMs: callMs }));
      this.#providers.set(key, provider);
    }
    return {
      provider,
      model: resolved.model,
      ...(resolved.temperature !== undefined ? { temperature: resolved.temperature } : {}),
    };
  }
}

/** `inner` whose calls are traced (`gen_ai.*` attributes) and counted per provider. */
function observed(inner: LlmProvider): LlmProvider {
  return {
    name: inner.name,
    complete: (request, signal) =>
      tracer().span(
        `chat ${request.model}`,
        {
          "gen_ai.system": inner.name,
          "gen_ai.operation.name": "chat",
          "gen_ai.request.model": request.model,
        },
        async (span) => {
          const t0 = performance.now();
          const out = await inner.complete(request, signal);
          const seconds = (performance.now() - t0) / 1000;
          const retries = (out.ok ? out.response.retries : out.retries)?.length ?? 0;
          const usage = out.ok ? out.response.usage : { inputTokens: 0, outputTokens: 0 };
          telemetry().llm({
            provider: inner.name,
            status: out.ok ? "ok" : "failed",
            retries,
            seconds,
            ...usage,
          });
          span.set({
            "gen_ai.usage.input_tokens": usage.inputTokens,
            "gen_ai.usage.output_tokens": usage.outputTokens,
            "mend.llm.retries": retries,
            ...(out.ok ? { "gen_ai.response.finish_reasons": out.response.finishReason } : {}),
          });
          if (!out.ok) span.fail(out.failure.kind);
          return out;
        },
      ),
  };
}
