// The tools a tenant can see: built-ins plus its registered tools (HTTP, MCP), looked up by name.
import type { Policy } from "../policy/policy-schema.ts";
import type { ToolDefinition } from "./tool.ts";
import { BUILTIN_TOOLS } from "./builtin-tools.ts";

/** A source of tenant-specific tools (registered HTTP tools, MCP servers). */
export interface ToolSource {
  /** `policy` is the caller's: a source may hide tools the policy cannot reach (an MCP server it refuses). */
  list(tenant: string, policy?: Policy): Promise<ToolDefinition[]>;
}

/**
 * Resolves tool names for a tenant. Built-ins come first; a registered tool cannot shadow one.
 * @example const echo = await catalog.get("local", "echo")
 */
export class ToolCatalog {
  readonly #builtins = new Map(BUILTIN_TOOLS.map((t) => [t.name, t]));
  readonly #sources: ToolSource[] = [];

  addSource(source: ToolSource): void {
    this.#sources.push(source);
  }

  async list(tenant: string, policy?: Policy): Promise<ToolDefinition[]> {
    const extra = (await Promise.all(this.#sources.map((s) => s.list(tenant, policy)))).flat();
    return [...this.#builtins.values(), ...extra.filter((t) => !this.#builtins.has(t.name))];
  }

  async get(tenant: string, name: string, policy?: Policy): Promise<ToolDefinition | undefined> {
    return this.#builtins.get(name) ?? (await this.list(tenant, policy)).find((t) => t.name === name);
  }
}
