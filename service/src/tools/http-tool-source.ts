// Registered HTTP tools as a ToolSource: read from the store on each listing, credentials opened per call.
import type { ToolSource } from "./tool-catalog.ts";
import type { ToolDefinition } from "./tool.ts";
import { httpToolDefinition } from "./http-tool.ts";
import type { ToolRegistry } from "./tool-registry.ts";

/**
 * The tenant's HTTP tools. Nothing is cached: a registration or deletion takes effect on the next call.
 * @example catalog.addSource(new HttpToolSource(registry))
 */
export class HttpToolSource implements ToolSource {
  readonly #registry: ToolRegistry;

  constructor(registry: ToolRegistry) {
    this.#registry = registry;
  }

  async list(tenant: string): Promise<ToolDefinition[]> {
    const tools = await this.#registry.httpTools(tenant);
    return tools.map(({ name, spec, record }) => ({
      ...httpToolDefinition(name, spec, () => this.#registry.headersOf(record)),
      source: { kind: "http" as const },
    }));
  }
}
