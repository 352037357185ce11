// One provider instance per (provider, endpoint, key), shared by the runs that use it.
import type { Config } from "../config/config.ts";
import { createProvider, resolveModel } from "../llm/create-provider.ts";
import type { LlmProvider } from "../llm/llm-provider.ts";
import type { RunRecord } from "../store/records.ts";

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
      provider = createProvider(resolved, { stallTimeoutMs: stallMs, attemptTimeoutMs: callMs });
      this.#providers.set(key, provider);
    }
    return {
      provider,
      model: resolved.model,
      ...(resolved.temperature !== undefined ? { temperature: resolved.temperature } : {}),
    };
  }
}
