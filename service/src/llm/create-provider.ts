// Picks and builds the model provider of a run: the environment's LLM settings, overridden per run.
import { AnthropicProvider } from "./anthropic-provider.ts";
import type { LlmProvider } from "./llm-provider.ts";
import { OpenAiProvider } from "./openai-provider.ts";
import type { RetryOptions } from "./retry.ts";

export type ProviderName = "openai" | "anthropic";

/** Where and how to reach a provider. */
export interface ProviderSpec {
  provider: ProviderName;
  baseUrl?: string;
  apiKey?: string;
  model?: string;
}

/** The environment's settings (config.llm). */
export interface LlmConfig {
  provider?: ProviderName;
  baseUrl?: string;
  apiKey?: string;
  model?: string;
}

/** A run's `model` field. */
export interface RunModelSpec {
  provider?: ProviderName;
  name?: string;
  temperature?: number;
}

/** The model a run talks to: provider settings plus the model name and temperature to send. */
export interface ResolvedModel extends ProviderSpec {
  model: string;
  temperature?: number;
}

/** Model names used when neither the environment nor the run names one. */
export const DEFAULT_MODELS: Record<ProviderName, string> = {
  openai: "gpt-4o-mini",
  anthropic: "claude-sonnet-4-5",
};

/** What a refusal says when no provider is configured (for the problem+json detail). */
export const LLM_CONFIGURATION_HINT =
  "No LLM provider is configured. Set MEND_LLM_PROVIDER=openai (any OpenAI-compatible server: OpenAI, vLLM, " +
  "llama.cpp, Ollama, LM Studio) or MEND_LLM_PROVIDER=anthropic, plus MEND_LLM_BASE_URL (e.g. " +
  "http://127.0.0.1:11434/v1), MEND_LLM_API_KEY and MEND_LLM_MODEL as needed; or pass " +
  '`model: {"provider": "openai", "name": "..."}` when creating the run.';

/**
 * Builds the provider for a spec; base URLs default to the public APIs.
 * @example createProvider({ provider: "openai", baseUrl: fake.url }, { maxAttempts: 2 })
 */
export function createProvider(spec: ProviderSpec, options: RetryOptions = {}): LlmProvider {
  const settings = { ...options, baseUrl: spec.baseUrl, apiKey: spec.apiKey };
  return spec.provider === "anthropic" ? new AnthropicProvider(settings) : new OpenAiProvider(settings);
}

/**
 * Merges a run's model spec over the environment's settings. The environment's base URL and key only
 * apply when the run keeps the environment's provider. Null when no provider is configured either way.
 * @example resolveModel({ provider: "openai", model: "llama3" }, { temperature: 0 }) // { provider: "openai", model: "llama3", temperature: 0 }
 */
export function resolveModel(config: LlmConfig, runModel?: RunModelSpec): ResolvedModel | null {
  const provider = runModel?.provider ?? config.provider;
  if (!provider) return null;
  const sameProvider = provider === config.provider;
  const resolved: ResolvedModel = {
    provider,
    model: runModel?.name ?? (sameProvider ? config.model : undefined) ?? DEFAULT_MODELS[provider],
  };
  if (sameProvider && config.baseUrl) resolved.baseUrl = config.baseUrl;
  if (sameProvider && config.apiKey) resolved.apiKey = config.apiKey;
  if (runModel?.temperature !== undefined) resolved.temperature = runModel.temperature;
  return resolved;
}
