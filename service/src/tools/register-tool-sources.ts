// Builds the tool registry once and adds the tenant tool sources (store-backed built-ins, registered HTTP
// tools, MCP servers) to the catalog at start-up.
import type { Store } from "../store/store.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import type { BlobStore } from "../store/blob-store.ts";
import type { ToolCatalog, ToolSource } from "./tool-catalog.ts";
import type { ToolDefinition } from "./tool.ts";
import { BUILTIN_TOOL_NAMES } from "./builtin-tools.ts";
import { createKvTools } from "./kv-tools.ts";
import { createBlobTools } from "./blob-tools.ts";
import { HttpToolSource } from "./http-tool-source.ts";
import { McpToolSource } from "./mcp-tool-source.ts";
import { mcpServersFromConfig } from "./mcp-server-config.ts";
import { SecretBox, warnIfKeyInDataDir } from "./secret-box.ts";
import { ToolRegistry } from "./tool-registry.ts";
import { DestinationGuard } from "./destination-guard.ts";
import { describeSystemError, StartupError } from "../config/startup-error.ts";

export interface ToolSourceDeps {
  store: Store;
  config: Pick<
    Config,
    | "dataDir"
    | "secretKey"
    | "secretKeyFile"
    | "mcpServers"
    | "mcpAllowStdio"
    | "networkAllowLoopback"
    | "hostsFile"
  >;
  log: Logger;
  blobs: BlobStore;
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
 * Called once by the composition root: the one ToolRegistry of the process (routes register through it),
 * the destination guard every tenant-driven request goes through, and a disposer that closes MCP connections (stopping stdio servers).
 * Throws McpConfigError when MEND_MCP_SERVERS is malformed, StartupError when MEND_HOSTS_FILE cannot be read.
 * @example const { registry, dispose } = await registerToolSources(catalog, { store, config, log, blobs })
 */
export async function registerToolSources(
  catalog: ToolCatalog,
  deps: ToolSourceDeps,
): Promise<{ registry: ToolRegistry; destinations: DestinationGuard; dispose(): Promise<void> }> {
  warnIfKeyInDataDir(
    { dataDir: deps.config.dataDir, keyFile: deps.config.secretKeyFile, envKey: deps.config.secretKey },
    deps.log,
  );
  let destinations: DestinationGuard;
  try {
    destinations = new DestinationGuard({
      allowLoopback: deps.config.networkAllowLoopback,
      ...(deps.config.hostsFile ? { hostsFile: deps.config.hostsFile } : {}),
    });
  } catch (e) {
    throw new StartupError(`MEND_HOSTS_FILE=${deps.config.hostsFile}: ${describeSystemError(e)}`);
  }
  const registry = new ToolRegistry({
    store: deps.store,
    secrets: new SecretBox({
      dataDir: deps.config.dataDir,
      envKey: deps.config.secretKey,
      keyFile: deps.config.secretKeyFile,
      log: deps.log,
    }),
    builtinNames: BUILTIN_TOOL_NAMES,
    configServers: mcpServersFromConfig(deps.config.mcpServers),
    allowStdio: deps.config.mcpAllowStdio,
    destinations,
  });
  catalog.addSource(
    new FixedToolSource([...createKvTools(deps.store), ...createBlobTools(deps.store, deps.blobs)]),
  );
  catalog.addSource(new HttpToolSource(registry));
  const mcp = new McpToolSource((tenant) => registry.mcpServers(tenant), deps.log, destinations);
  catalog.addSource(mcp);
  return {
    registry,
    destinations,
    dispose: async () => {
      await mcp.close();
      await destinations.close();
    },
  };
}
