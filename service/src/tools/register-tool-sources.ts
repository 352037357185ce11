// Adds the tenant tool sources (store-backed built-ins, registered HTTP tools, MCP servers) to the catalog at start-up.
import { join } from "node:path";
import type { Store } from "../store/store.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import { BlobStore } from "../store/blob-store.ts";
import type { ToolCatalog, ToolSource } from "./tool-catalog.ts";
import type { ToolDefinition } from "./tool.ts";
import { BUILTIN_TOOL_NAMES } from "./builtin-tools.ts";
import { createKvTools } from "./kv-tools.ts";
import { createBlobTools } from "./blob-tools.ts";
import { HttpToolSource } from "./http-tool-source.ts";
import { McpToolSource } from "./mcp-tool-source.ts";
import { parseMcpServersEnv } from "./mcp-server-config.ts";
import { SecretBox } from "./secret-box.ts";
import { ToolRegistry } from "./tool-registry.ts";

export interface ToolSourceDeps {
  store: Store;
  config: Config;
  log: Logger;
  /** Defaults to the BlobStore under <dataDir>/blobs (the one createServices opens). */
  blobs?: BlobStore;
  /** MEND_SECRET_KEY, MEND_MCP_SERVERS, MEND_MCP_ALLOW_STDIO; defaults to process.env. */
  env?: Record<string, string | undefined>;
}

/**
 * The registry of a service (routes and sources each build one; they share only the store and the key).
 * @example const registry = createToolRegistry({ store, config, log })
 */
export function createToolRegistry(deps: ToolSourceDeps): ToolRegistry {
  const env = deps.env ?? process.env;
  return new ToolRegistry({
    store: deps.store,
    secrets: new SecretBox({
      dataDir: deps.config.dataDir,
      envKey: env.MEND_SECRET_KEY || undefined,
      log: deps.log,
    }),
    builtinNames: BUILTIN_TOOL_NAMES,
    configServers: parseMcpServersEnv(env.MEND_MCP_SERVERS),
    allowStdio: env.MEND_MCP_ALLOW_STDIO === "1" || env.MEND_MCP_ALLOW_STDIO === "true",
  });
}

/** The same tools for every tenant (the store-backed built-ins). */
class FixedToolSource implements ToolSource {
  readonly #tools: ToolDefinition[];
  constructor(tools: ToolDefinition[]) {
    this.#tools = tools;
  }
  async list(): Promise<ToolDefinition[]> {
    return this.#tools;
  }
}

/**
 * Called once by createServices; returns a disposer that closes MCP connections (stopping stdio servers).
 * Throws McpConfigError when MEND_MCP_SERVERS is malformed.
 * @example const dispose = await registerToolSources(catalog, { store, config, log }); ...; await dispose()
 */
export async function registerToolSources(
  catalog: ToolCatalog,
  deps: ToolSourceDeps,
): Promise<() => Promise<void>> {
  const registry = createToolRegistry(deps);
  const blobs = deps.blobs ?? new BlobStore(join(deps.config.dataDir, "blobs"));
  catalog.addSource(
    new FixedToolSource([...createKvTools(deps.store), ...createBlobTools(deps.store, blobs)]),
  );
  catalog.addSource(new HttpToolSource(registry));
  const mcp = new McpToolSource((tenant) => registry.mcpServers(tenant), deps.log);
  catalog.addSource(mcp);
  return () => mcp.close();
}
