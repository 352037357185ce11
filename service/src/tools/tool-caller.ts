// Calls a tool on behalf of a caller: allowlist, argument validation, global cache (with coalescing), invocation.
import { hash } from "node:crypto";
import { makeFailure } from "@mend/wire";
import { quotaFailure } from "../core/quota-failure.ts";
import { canonicalJson, generateToolsDts, generateToolsPyi, validateAgainstSchema } from "@mend/sandboxes";
import type { Caller } from "../core/caller.ts";
import { toolAllowed } from "../policy/resolve-request.ts";
import type { CacheKey, Store } from "../store/store.ts";
import { sleep } from "../lib/retry.ts";
import type { ToolCatalog } from "./tool-catalog.ts";
import type { ToolCallContext, ToolDefinition, ToolResult } from "./tool.ts";
import { tracer } from "../lib/tracing.ts";
import type { DestinationGuard } from "./destination-guard.ts";

/** How often a call waiting for another replica's fill of the same key looks for the entry again. */
const FILL_POLL_MS = 25;
/** How long a call waits for another replica's fill before it calls the tool itself (a fill marks liveness). */
const FILL_WAIT_MAX_MS = 120_000;

export interface ToolCallOptions {
  /** "bypass" skips the cache lookup (the fresh result still refreshes the entry). */
  cache?: "use" | "bypass";
  /** Tools the run or request narrowed itself to (never beyond the policy). */
  narrowedTo?: string[];
}

/** What a call answers: `cached` when served from the cache, `deterministic` under a cache rule. */
type CallResult = ToolResult & { cached?: boolean; deterministic?: boolean };

/** A successful result over `limits.toolResultBytes` becomes that failure (the value is dropped). */
function boundResult(r: ToolResult, who: Caller, tool: string): ToolResult {
  const max = who.policy.limits.toolResultBytes;
  if (!r.ok || max === undefined) return r;
  const used = Buffer.byteLength(JSON.stringify(r.value ?? null) ?? "null");
  return used > max ? { ok: false, failure: quotaFailure("toolResultBytes", max, { used, tool }) } : r;
}

/**
 * The single path by which the service runs a tool.
 * @example const r = await caller.call(who, "echo", { text: "hi" }, ctx)
 */
export class ToolCaller {
  readonly #catalog: ToolCatalog;
  readonly #store: Store;
  readonly #destinations: DestinationGuard | undefined;
  readonly #inflight = new Map<string, Promise<CallResult>>();
  /** This replica's id when several replicas share the store: misses coalesce through fill marks. */
  #fillOwner: string | null = null;

  constructor(catalog: ToolCatalog, store: Store, destinations?: DestinationGuard) {
    this.#catalog = catalog;
    this.#store = store;
    this.#destinations = destinations;
  }

  /** The tools this caller may use, as definitions. */
  async allowed(who: Caller, narrowedTo?: string[]): Promise<ToolDefinition[]> {
    const all = await this.#catalog.list(who.tenant, who.policy);
    return all.filter(
      (t) => toolAllowed(who.policy, t.name, t.source?.kind) && (!narrowedTo || narrowedTo.includes(t.name)),
    );
  }

  /** Whether `name` is a tool of the service for this tenant (built-in or registered), allowed or not. */
  async known(who: Caller, name: string): Promise<boolean> {
    return (await this.#catalog.get(who.tenant, name, who.policy)) !== undefined;
  }

  /** TypeScript declarations of the tools this caller may use (GET /v1/tools.d.ts, MCP, the loop's prompt). */
  async declarations(who: Caller, narrowedTo?: string[]): Promise<string> {
    const tools = await this.allowed(who, narrowedTo);
    return generateToolsDts(
      tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
    );
  }

  /** Python stubs of the tools this caller may use (GET /v1/tools.pyi, MCP, the loop's prompt). */
  async pythonStubs(who: Caller, narrowedTo?: string[]): Promise<string> {
    const tools = await this.allowed(who, narrowedTo);
    return generateToolsPyi(
      tools.map((t) => ({
        name: t.name,
        description: t.description,
        inputSchema: t.inputSchema,
        ...(t.outputSchema ? { outputSchema: t.outputSchema } : {}),
      })),
    );
  }

  call(
    who: Caller,
    name: string,
    args: unknown,
    ctx: ToolCallContext,
    opts: ToolCallOptions = {},
  ): Promise<CallResult> {
    return tracer().span("mend.tool.call", { "mend.tool": name, "mend.run_id": ctx.runId }, async (span) => {
      const r = await this.#call(who, name, args, ctx, opts);
      span.set({ "mend.tool.ok": r.ok, ...(r.cached ? { "mend.tool.cached": true } : {}) });
      if (!r.ok) span.set({ "mend.failure.kind": r.failure.kind });
      if (!r.ok) span.fail(r.failure.kind);
      return r;
    });
  }

  async #call(
    who: Caller,
    name: string,
    args: unknown,
    ctx: ToolCallContext,
    opts: ToolCallOptions,
  ): Promise<CallResult> {
    const tool = await this.#catalog.get(who.tenant, name, who.policy);
    if (
      !tool ||
      !toolAllowed(who.policy, name, tool.source?.kind) ||
      (opts.narrowedTo && !opts.narrowedTo.includes(name))
    ) {
      const allowed = (await this.allowed(who, opts.narrowedTo)).map((t) => t.name);
      return {
        ok: false,
        failure: makeFailure(
          "tool_not_allowed",
          `tool "${name}" is not ${tool ? "allowed by the policy" : "known"}; allowed tools: ${allowed.join(", ") || "(none)"}`,
          false,
          { tool: name, allowedTools: allowed, remedy: { action: "use_allowed_tool" } },
        ),
      };
    }
    const errors = validateAgainstSchema(tool.inputSchema, args ?? {});
    if (errors.length > 0) {
      return {
        ok: false,
        failure: makeFailure(
          "tool_input_invalid",
          `arguments of "${name}" do not match its schema: ${errors.map((e) => `${e.path || "/"} ${e.message}`).join("; ")}`,
          false,
          { tool: name, errors, remedy: { action: "fix_arguments" } },
        ),
      };
    }
    const limits = who.policy.limits;
    if (limits.toolArgsBytes !== undefined) {
      const argsBytes = Buffer.byteLength(JSON.stringify(args ?? {}));
      if (argsBytes > limits.toolArgsBytes)
        return {
          ok: false,
          failure: quotaFailure("toolArgsBytes", limits.toolArgsBytes, { used: argsBytes, tool: name }),
        };
    }
    const rule = who.policy.cache[name] ?? tool.cache;
    if (!rule || rule === "off")
      return boundResult(await tool.invoke(args ?? {}, this.#context(ctx, who)), who, name);

    // Under a cache rule the tool is declared deterministic: a code-mode journal may defer its record.
    const r = await this.#cached(who, name, tool, rule, args, ctx, opts);
    return r.ok ? { ...r, deterministic: true } : r;
  }

  async #cached(
    who: Caller,
    name: string,
    tool: ToolDefinition,
    rule: { ttlSeconds: number },
    args: unknown,
    ctx: ToolCallContext,
    opts: ToolCallOptions,
  ): Promise<CallResult> {
    const limits = who.policy.limits;
    // One-shot hash: a Hash object per call cost more than the hashing itself.
    const argsHash = hash("sha256", canonicalJson(args ?? {}));
    const now = Date.now();
    if (opts.cache !== "bypass") {
      const hit = await this.#store.getCache(who.tenant, name, tool.version, argsHash, now);
      if (hit) return { ok: true, value: hit.value, cached: true };
      await this.#store.countCacheMiss(who.tenant);
    }
    // Identical concurrent calls share one invocation.
    const flightKey = `${who.tenant}\0${name}\0${tool.version}\0${argsHash}`;
    const pending = this.#inflight.get(flightKey);
    if (pending) {
      // Shared with an identical call in flight; only a success counts as served from the cache.
      const shared = await pending;
      return shared.ok ? { ...shared, cached: true } : shared;
    }
    const key: CacheKey = { tenant: who.tenant, tool: name, version: tool.version, argsHash };
    /** The entry's write: until it settles, identical calls share this one (they would miss the cache). */
    let stored: Promise<void> = Promise.resolve();
    const invokeAndStore = async (): Promise<ToolResult> => {
      const r = boundResult(await tool.invoke(args ?? {}, this.#context(ctx, who)), who, name);
      if (r.ok) {
        const text = JSON.stringify(r.value ?? null);
        stored = this.#store.putCache(
          {
            tenant: who.tenant,
            tool: name,
            version: tool.version,
            argsHash,
            value: r.value ?? null,
            sizeBytes: Buffer.byteLength(text),
            createdAt: now,
            expiresAt: now + rule.ttlSeconds * 1000,
          },
          this.#cacheMaxBytes,
          limits.cacheBytes,
        );
        // A store that queues puts writes this one with the call's journal record, which comes after the
        // answer: awaiting it here would wait for a write that waits for us. A lost entry is a later miss.
        if (this.#store.queuesCachePuts === true) stored = stored.catch(() => undefined);
        else await stored;
      }
      return r;
    };
    const p = (async (): Promise<CallResult> => {
      const filled = await this.#awaitFill(key);
      if (filled) return filled;
      const owner = this.#fillOwner;
      try {
        return await invokeAndStore();
      } finally {
        // Another replica waiting on the fill mark looks for the entry once it is released: after the write.
        if (owner) {
          const released = stored.then(() => this.#store.releaseCacheFill(key, owner)).catch(() => undefined);
          if (this.#store.queuesCachePuts !== true) await released;
        }
      }
    })();
    this.#inflight.set(flightKey, p);
    const done = (): void => {
      if (this.#inflight.get(flightKey) === p) this.#inflight.delete(flightKey);
    };
    p.then(
      () => stored.then(done, done),
      () => done(),
    );
    return p;
  }

  #context(ctx: ToolCallContext, who: Caller): ToolCallContext {
    return {
      ...ctx,
      policy: who.policy,
      ...(this.#destinations ? { destinations: this.#destinations } : {}),
    };
  }

  /**
   * With a fill owner (several replicas): takes the key's fill mark, or waits while another live replica
   * holds it and answers its entry once stored (`cached`). Null: this call fills the key.
   */
  async #awaitFill(key: CacheKey): Promise<(ToolResult & { cached: true }) | null> {
    const owner = this.#fillOwner;
    if (!owner) return null;
    const deadline = Date.now() + FILL_WAIT_MAX_MS;
    while (!(await this.#store.claimCacheFill(key, owner))) {
      await sleep(FILL_POLL_MS);
      const hit = await this.#store.getCache(key.tenant, key.tool, key.version, key.argsHash, Date.now());
      if (hit) return { ok: true, value: hit.value, cached: true };
      if (Date.now() > deadline) return null;
    }
    return null;
  }

  /** Several replicas on one store: identical concurrent misses on different replicas make one call. */
  coalesceAcrossReplicas(owner: string): void {
    this.#fillOwner = owner;
  }

  #cacheMaxBytes = 256 * 1024 * 1024;

  /** Sets the global cache's byte cap (LRU eviction beyond it). */
  setCacheMaxBytes(bytes: number): void {
    this.#cacheMaxBytes = bytes;
  }
}
