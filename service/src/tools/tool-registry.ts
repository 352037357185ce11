// A tenant's registered HTTP tools and MCP servers in the store: checks, encryption of credentials, views.
import { createHash } from "node:crypto";
import type { McpServerInfo, RegisterMcpServer, RegisterTool } from "@mend/wire";
import { Rejection } from "../core/rejection.ts";
import type { ToolRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";
import { DEFAULT_HTTP_TOOL_TIMEOUT_MS, type HttpToolSpec } from "./http-tool.ts";
import {
  MCP_RECORD_PREFIX,
  mcpParams,
  splitMcpServer,
  type McpServerEntry,
  type McpServerSpec,
} from "./mcp-server-config.ts";
import { checkToolSchema } from "./schema-check.ts";
import type { SecretBox } from "./secret-box.ts";
import type { Policy } from "../policy/policy-schema.ts";
import { networkDeniedFailure, type DestinationGuard } from "./destination-guard.ts";
import { httpToolInfo, mcpServerInfo, type RegisteredToolInfo } from "./tool-views.ts";
import { checkEndpoint, checkEnv, checkHeaders } from "./registration-checks.ts";

export { httpToolInfo } from "./tool-views.ts";
export type { RegisteredToolInfo } from "./tool-views.ts";

export interface ToolRegistryDeps {
  store: Store;
  secrets: SecretBox;
  /** Names of the built-in tools: their first segments are reserved namespaces. */
  builtinNames: readonly string[];
  /** Servers from MEND_MCP_SERVERS, for the `local` tenant (read-only through the API). */
  configServers: readonly RegisterMcpServer[];
  /** Whether tenants may register stdio servers (they run a command on the service's host). */
  allowStdio: boolean;
  /** The destination policy: a tool or server at a refused destination is not registered. */
  destinations: DestinationGuard;
}

/** Tenants whose tool records are kept in memory between listings. */
const CACHED_TENANTS = 1024;

const firstSegment = (name: string) => name.split(".")[0]!;
const aad = (tenant: string, recordName: string) => `${tenant}/${recordName}`;

/**
 * Registration and lookup of tenant tools. Credentials are sealed before they reach the store and only
 * opened to make a call; views never contain them.
 * @example const { info, created } = await registry.registerHttpTool("local", body)
 */
export class ToolRegistry {
  readonly #d: ToolRegistryDeps;
  readonly #reserved: Set<string>;

  constructor(deps: ToolRegistryDeps) {
    this.#d = deps;
    this.#reserved = new Set(deps.builtinNames.map(firstSegment));
  }

  /**
   * Reads of one tenant's records in flight, by tenant and the store's tools version when they started: the
   * HTTP and MCP sources listing at once share one read (never one begun before a change they saw).
   */
  readonly #reading = new Map<string, Promise<ToolRecord[]>>();
  /**
   * The last records read per tenant with the store's tools version before that read (every execution lists
   * the catalog): reused while the version is unchanged; a store without a cheap version is read each time.
   */
  readonly #cached = new Map<string, { version: string; records: ToolRecord[] }>();

  /** A read of the store's tools version in flight: the sources listing at once share it. */
  #versionRead: Promise<string | null> | undefined;

  async #records(tenant: string): Promise<ToolRecord[]> {
    const version = await (this.#versionRead ??= this.#d.store
      .toolsVersion()
      .finally(() => (this.#versionRead = undefined)));
    const known = version === null ? undefined : this.#cached.get(tenant);
    if (known?.version === version) return known.records;
    const flight = `${tenant}\0${version ?? ""}`;
    let p = this.#reading.get(flight);
    if (!p) {
      p = this.#d.store.listTools(tenant).finally(() => this.#reading.delete(flight));
      this.#reading.set(flight, p);
    }
    const records = await p;
    if (version !== null) {
      // Bounded: tenants are many; the oldest entry goes first (it is read again when next needed).
      this.#cached.delete(tenant);
      if (this.#cached.size >= CACHED_TENANTS) this.#cached.delete(this.#cached.keys().next().value!);
      this.#cached.set(tenant, { version, records });
    }
    return records;
  }

  /** Creates or replaces an HTTP tool: 201 semantics when created, 200 when it existed. */
  async registerHttpTool(
    tenant: string,
    body: RegisterTool,
    policy?: Policy,
  ): Promise<{ info: RegisteredToolInfo; created: boolean }> {
    const errors = [
      ...checkToolSchema(body.inputSchema, "/inputSchema", true),
      ...(body.outputSchema ? checkToolSchema(body.outputSchema, "/outputSchema", false) : []),
      ...checkEndpoint(body.endpoint),
      ...checkHeaders(body.headers ?? {}),
    ];
    if (errors.length > 0) {
      throw new Rejection(
        "invalid",
        `tool "${body.name}" is invalid: ${errors[0]!.path} ${errors[0]!.message}`,
        { errors },
      );
    }
    await this.#assertDestination(`tool "${body.name}"`, body.endpoint, policy);
    await this.#assertNameFree(tenant, body.name, "tool");
    const headers = Object.fromEntries(
      Object.entries(body.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    );
    const spec: HttpToolSpec = {
      kind: "http",
      description: body.description,
      inputSchema: body.inputSchema,
      ...(body.outputSchema ? { outputSchema: body.outputSchema } : {}),
      endpoint: body.endpoint,
      method: body.method ?? "POST",
      headerNames: Object.keys(headers).sort(),
      timeoutMs: body.timeoutMs ?? DEFAULT_HTTP_TOOL_TIMEOUT_MS,
      version: body.version ?? derivedVersion(body),
      ...(body.cache ? { cache: body.cache } : {}),
      idempotent: body.idempotent ?? false,
    };
    const record = await this.#put(
      tenant,
      body.name,
      spec as unknown as Record<string, unknown>,
      Object.keys(headers).length === 0 ? {} : { headers },
    );
    return { info: httpToolInfo(body.name, spec, record.record), created: record.created };
  }

  /** The tenant's registered HTTP tools. */
  async httpTools(tenant: string): Promise<{ name: string; spec: HttpToolSpec; record: ToolRecord }[]> {
    const rows = await this.#records(tenant);
    return rows
      .filter((r) => r.spec.kind === "http")
      .map((r) => ({ name: r.name, spec: r.spec as unknown as HttpToolSpec, record: r }));
  }

  async httpTool(tenant: string, name: string): Promise<{ spec: HttpToolSpec; record: ToolRecord } | null> {
    const r = await this.#d.store.getTool(tenant, name);
    return r && r.spec.kind === "http" ? { spec: r.spec as unknown as HttpToolSpec, record: r } : null;
  }

  async deleteHttpTool(tenant: string, name: string): Promise<boolean> {
    if (!(await this.httpTool(tenant, name))) return false;
    return this.#d.store.deleteTool(tenant, name);
  }

  /** Decrypted headers of an HTTP tool record (for the call only). */
  async headersOf(record: ToolRecord): Promise<Record<string, string>> {
    return (await this.#openSecret(record)).headers ?? {};
  }

  async registerMcpServer(
    tenant: string,
    body: RegisterMcpServer,
    policy?: Policy,
  ): Promise<{ info: McpServerInfo; created: boolean }> {
    if ("command" in body && !this.#d.allowStdio) {
      throw new Rejection(
        "not_configured",
        "stdio MCP servers run a command on the service's host and are disabled; the operator can enable them with MEND_MCP_ALLOW_STDIO=1, or define them in MEND_MCP_SERVERS",
      );
    }
    const errors =
      "url" in body
        ? [...checkEndpoint(body.url, "/url"), ...checkHeaders(body.headers ?? {})]
        : checkEnv(body.env ?? {});
    if (errors.length > 0) {
      throw new Rejection(
        "invalid",
        `MCP server "${body.name}" is invalid: ${errors[0]!.path} ${errors[0]!.message}`,
        { errors },
      );
    }
    if ("url" in body) await this.#assertDestination(`MCP server "${body.name}"`, body.url, policy);
    await this.#assertNameFree(tenant, body.name, "mcp-server");
    const { spec, secret } = splitMcpServer(body);
    const r = await this.#put(
      tenant,
      MCP_RECORD_PREFIX + body.name,
      spec as unknown as Record<string, unknown>,
      secret,
    );
    return { info: mcpServerInfo(body.name, spec, "api", r.record), created: r.created };
  }

  /** Every MCP server of the tenant: configured ones (local tenant) first, then registered ones. */
  async mcpServers(tenant: string): Promise<McpServerEntry[]> {
    const fromConfig: McpServerEntry[] =
      tenant === "local"
        ? this.#d.configServers.map((body) => {
            const { spec, secret } = splitMcpServer(body);
            return {
              name: body.name,
              spec,
              origin: "config" as const,
              fingerprint: `config:${createHash("sha256").update(JSON.stringify(body)).digest("hex")}`,
              params: async () => mcpParams(body.name, spec, secret),
            };
          })
        : [];
    const taken = new Set(fromConfig.map((s) => s.name));
    const stored = (await this.#records(tenant))
      .filter((r) => r.spec.kind === "mcp-server" && !taken.has(r.name.slice(MCP_RECORD_PREFIX.length)))
      .map((r): McpServerEntry => {
        const name = r.name.slice(MCP_RECORD_PREFIX.length);
        const spec = r.spec as unknown as McpServerSpec;
        return {
          name,
          spec,
          origin: "api",
          fingerprint: `api:${r.updatedAt}:${r.createdAt}`,
          createdAt: r.createdAt,
          updatedAt: r.updatedAt,
          params: async () => mcpParams(name, spec, await this.#openSecret(r)),
        };
      });
    return [...fromConfig, ...stored];
  }

  async listMcpServers(tenant: string): Promise<McpServerInfo[]> {
    return (await this.mcpServers(tenant)).map((s) => mcpServerInfo(s.name, s.spec, s.origin, s));
  }

  async deleteMcpServer(tenant: string, name: string): Promise<boolean> {
    if (tenant === "local" && this.#d.configServers.some((s) => s.name === name)) {
      throw new Rejection("conflict", `MCP server "${name}" is defined by MEND_MCP_SERVERS; remove it there`);
    }
    return this.#d.store.deleteTool(tenant, MCP_RECORD_PREFIX + name);
  }

  /**
   * Refuses a destination the caller's policy refuses now (it is checked again at every connection). A
   * name that does not resolve yet is accepted: nothing can be learnt from it, and the connect-time check
   * still applies.
   */
  async #assertDestination(what: string, endpoint: string, policy: Policy | undefined): Promise<void> {
    const d = await this.#d.destinations.check(new URL(endpoint), policy);
    if (d.ok || d.denial.rule === "destination.resolve") return;
    const failure = networkDeniedFailure(d.denial);
    throw new Rejection("network_denied", `${what} is refused: ${d.denial.message}`, {
      failure,
      host: d.denial.host,
      ...(d.denial.address ? { address: d.denial.address } : {}),
      ...(d.denial.range ? { range: d.denial.range } : {}),
      rule: d.denial.rule,
    });
  }

  /** Refuses built-in namespaces, and names that would clash with a tool or server of the other kind. */
  async #assertNameFree(tenant: string, name: string, kind: "tool" | "mcp-server"): Promise<void> {
    const ns = firstSegment(name);
    if (this.#reserved.has(ns)) {
      throw new Rejection(
        "conflict",
        `"${name}" would shadow the built-in tools under "${ns}"; choose another name`,
        { name },
      );
    }
    const servers = (await this.mcpServers(tenant)).map((s) => s.name);
    if (kind === "tool" && servers.includes(ns)) {
      throw new Rejection(
        "conflict",
        `"${name}" clashes with the tools of MCP server "${ns}"; choose another name`,
        { name },
      );
    }
    if (kind === "mcp-server") {
      if (this.#d.configServers.some((s) => s.name === name) && tenant === "local") {
        throw new Rejection("conflict", `MCP server "${name}" is defined by MEND_MCP_SERVERS`, { name });
      }
      const clash = (await this.httpTools(tenant)).find((t) => firstSegment(t.name) === name);
      if (clash)
        throw new Rejection(
          "conflict",
          `MCP server "${name}" clashes with the registered tool "${clash.name}"`,
          { name },
        );
    }
  }

  async #put(
    tenant: string,
    recordName: string,
    spec: Record<string, unknown>,
    secret: Record<string, Record<string, string>>,
  ): Promise<{ record: ToolRecord; created: boolean }> {
    const previous = await this.#d.store.getTool(tenant, recordName);
    const now = Date.now();
    const record: ToolRecord = {
      tenant,
      name: recordName,
      spec,
      secret: Object.keys(secret).length
        ? await this.#d.secrets.seal(JSON.stringify(secret), aad(tenant, recordName))
        : null,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
    await this.#d.store.putTool(record);
    return { record, created: previous === null };
  }

  async #openSecret(r: ToolRecord): Promise<Record<string, Record<string, string>>> {
    if (!r.secret) return {};
    return JSON.parse(await this.#d.secrets.open(r.secret, aad(r.tenant, r.name))) as Record<
      string,
      Record<string, string>
    >;
  }
}

function derivedVersion(body: RegisterTool): string {
  const basis = JSON.stringify([
    body.inputSchema,
    body.outputSchema ?? null,
    body.endpoint,
    body.method ?? "POST",
  ]);
  return createHash("sha256").update(basis).digest("hex").slice(0, 12);
}
