// /v1/tools: tools visible to the caller, HTTP tool registration, MCP servers; /v1/tools.d.ts and .pyi: typed bindings.
import { Hono } from "hono";
import { RegisterMcpServerSchema, RegisterToolSchema, type ToolInfo } from "@mend/wire";
import type { Services } from "../../services/services.ts";
import type { AppEnv } from "../app-env.ts";
import { readBody } from "../read-body.ts";
import { HttpProblem } from "../problem.ts";
import type { Caller } from "../../core/caller.ts";
import { toolAllowed } from "../../policy/resolve-request.ts";
import type { ToolDefinition } from "../../tools/tool.ts";
import { httpToolInfo, type ToolRegistry } from "../../tools/tool-registry.ts";

function definitionInfo(d: ToolDefinition, allowed: boolean): ToolInfo {
  return {
    name: d.name,
    description: d.description,
    inputSchema: d.inputSchema,
    ...(d.outputSchema ? { outputSchema: d.outputSchema } : {}),
    version: d.version,
    ...(d.cache ? { cache: d.cache } : {}),
    ...(d.idempotent !== undefined ? { idempotent: d.idempotent } : {}),
    source: d.source?.kind ?? "builtin",
    ...(d.source?.kind === "mcp" ? { server: d.source.server } : {}),
    allowed,
  };
}

/** Allowed tools, plus the tenant's registered HTTP tools the policy does not allow (flagged). */
async function visibleTools(s: Services, registry: ToolRegistry, who: Caller): Promise<ToolInfo[]> {
  const [allowed, registered] = await Promise.all([s.tools.allowed(who), registry.httpTools(who.tenant)]);
  const http = new Map(registered.map((t) => [t.name, t]));
  const out = allowed.map((d) => {
    const reg = http.get(d.name);
    return reg ? { ...httpToolInfo(d.name, reg.spec, reg.record), allowed: true } : definitionInfo(d, true);
  });
  const listed = new Set(out.map((t) => t.name));
  for (const t of registered)
    if (!listed.has(t.name)) out.push({ ...httpToolInfo(t.name, t.spec, t.record), allowed: false });
  return out;
}

/**
 * GET/POST /v1/tools, GET/DELETE /v1/tools/{name}, and /v1/tools/mcp-servers[/{name}].
 * @example app.route("/v1/tools", toolRoutes(services))
 */
export function toolRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();

  r.get("/", async (c) => c.json(await visibleTools(s, s.registry, c.get("caller"))));

  r.post("/", async (c) => {
    const body = await readBody(c, RegisterToolSchema);
    const who = c.get("caller");
    const { info, created } = await s.registry.registerHttpTool(who.tenant, body, who.policy);
    c.get("log").info(
      { tool: body.name, endpoint: new URL(body.endpoint).origin, created },
      "HTTP tool registered",
    );
    return c.json({ ...info, allowed: toolAllowed(who.policy, body.name, "http") }, created ? 201 : 200);
  });

  r.get("/mcp-servers", async (c) => c.json(await s.registry.listMcpServers(c.get("caller").tenant)));

  r.post("/mcp-servers", async (c) => {
    const body = await readBody(c, RegisterMcpServerSchema);
    const who = c.get("caller");
    const { info, created } = await s.registry.registerMcpServer(who.tenant, body, who.policy);
    c.get("log").info({ server: body.name, transport: info.transport, created }, "MCP server registered");
    return c.json(info, created ? 201 : 200);
  });

  r.get("/mcp-servers/:name", async (c) => {
    const name = c.req.param("name");
    const found = (await s.registry.listMcpServers(c.get("caller").tenant)).find((m) => m.name === name);
    if (!found) throw new HttpProblem(404, "not-found", `MCP server "${name}" is not configured`);
    return c.json(found);
  });

  r.delete("/mcp-servers/:name", async (c) => {
    const name = c.req.param("name");
    if (!(await s.registry.deleteMcpServer(c.get("caller").tenant, name))) {
      throw new HttpProblem(404, "not-found", `MCP server "${name}" is not configured`);
    }
    return c.body(null, 204);
  });

  r.get("/:name", async (c) => {
    const name = c.req.param("name");
    const found = (await visibleTools(s, s.registry, c.get("caller"))).find((t) => t.name === name);
    if (!found)
      throw new HttpProblem(
        404,
        "not-found",
        `tool "${name}" does not exist or is not visible to this caller`,
      );
    return c.json(found);
  });

  r.delete("/:name", async (c) => {
    const name = c.req.param("name");
    const tenant = c.get("caller").tenant;
    if (!(await s.registry.deleteHttpTool(tenant, name))) {
      throw new HttpProblem(
        404,
        "not-found",
        `no registered tool "${name}" (built-in and MCP tools cannot be deleted here)`,
      );
    }
    await s.store.clearCache(tenant, name);
    return c.body(null, 204);
  });
  return r;
}

/**
 * GET /v1/tools.d.ts: TypeScript declarations of the tools the caller may use, with JSDoc.
 * @example app.route("/v1/tools.d.ts", toolsDtsRoute(services))
 */
export function toolsDtsRoute(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.get("/", async (c) => {
    const dts = await s.tools.declarations(c.get("caller"));
    return c.body(dts, 200, { "content-type": "text/plain; charset=utf-8" });
  });
  return r;
}

/**
 * GET /v1/tools.pyi: Python stubs of the tools the caller may use, with docstrings.
 * @example app.route("/v1/tools.pyi", toolsPyiRoute(services))
 */
export function toolsPyiRoute(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>();
  r.get("/", async (c) => {
    const pyi = await s.tools.pythonStubs(c.get("caller"));
    return c.body(pyi, 200, { "content-type": "text/plain; charset=utf-8" });
  });
  return r;
}
