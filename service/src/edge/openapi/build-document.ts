// Generates the OpenAPI 3.1 document from the route table: TypeBox schemas are JSON Schema, used as is.
import type { TSchema } from "@sinclair/typebox";
// Until wire/src/index.ts re-exports the route table, import it by path.
import { ROUTES, type RouteResponse, type RouteSpec } from "@mend/wire";

type Json = Record<string, unknown>;

/** Hoists every sub-schema that carries a `$id` into components, replacing it with a `$ref`. */
class Components {
  readonly schemas: Record<string, Json> = {};
  readonly #texts = new Map<string, string>();

  /** A JSON copy of `schema` (TypeBox's symbol keys dropped) with named sub-schemas referenced. */
  use(schema: TSchema): Json {
    return this.#walk(JSON.parse(JSON.stringify(schema)) as Json);
  }

  #walk(node: Json): Json {
    const out: Json = {};
    for (const [k, v] of Object.entries(node)) out[k] = this.#value(v);
    const id = out.$id;
    if (typeof id !== "string") return out;
    const { $id: _drop, ...body } = out;
    const text = JSON.stringify(body);
    const known = this.#texts.get(id);
    // A derived schema (Omit, Composite) may keep its source's $id with another shape: keep it inline.
    if (known !== undefined && known !== text) return body;
    if (known === undefined) {
      this.#texts.set(id, text);
      this.schemas[id] = body;
    }
    return { $ref: `#/components/schemas/${id}` };
  }

  #value(v: unknown): unknown {
    if (Array.isArray(v)) return v.map((x) => this.#value(x));
    if (v !== null && typeof v === "object") return this.#walk(v as Json);
    return v;
  }
}

function response(c: Components, status: number, r: RouteResponse): Json {
  const type = r.contentType ?? (status >= 400 ? "application/problem+json" : "application/json");
  if (status === 204) return { description: r.description };
  const media: Json = {};
  if (r.schema) media.schema = c.use(r.schema);
  if (r.example !== undefined) media.example = r.example;
  return { description: r.description, content: { [type]: media } };
}

function operation(c: Components, r: RouteSpec): Json {
  const parameters: Json[] = [];
  for (const [name, schema] of Object.entries(r.params ?? {})) {
    parameters.push({ name, in: "path", required: true, schema: c.use(schema) });
  }
  for (const [name, schema] of Object.entries(r.query ?? {})) {
    parameters.push({ name, in: "query", required: false, schema: c.use(schema) });
  }
  for (const [name, h] of Object.entries(r.headers ?? {})) {
    parameters.push({
      name,
      in: "header",
      required: false,
      description: h.description,
      schema: c.use(h.schema),
    });
  }
  const op: Json = {
    operationId: r.operationId,
    summary: r.summary,
    tags: [r.tag],
    ...(r.description ? { description: r.description } : {}),
    ...(parameters.length ? { parameters } : {}),
    responses: Object.fromEntries(
      Object.entries(r.responses).map(([s, res]) => [s, response(c, Number(s), res)]),
    ),
  };
  if (r.body) {
    const media: Json = { schema: c.use(r.body.schema) };
    if (r.body.example !== undefined) media.example = r.body.example;
    op.requestBody = { required: true, content: { [r.body.contentType ?? "application/json"]: media } };
  }
  if (r.public) op.security = [];
  return op;
}

/**
 * The whole OpenAPI 3.1 document of the API, built from `routes` (the wire route table by default).
 * @example const doc = buildOpenApi("0.1.0"); doc.paths["/v1/runs"].post.operationId // "createRun"
 */
export function buildOpenApi(
  version: string,
  routes: readonly RouteSpec[] = ROUTES,
): Json & { paths: Record<string, Record<string, Json>> } {
  const c = new Components();
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) (paths[r.path] ??= {})[r.method] = operation(c, r);
  return {
    openapi: "3.1.0",
    info: {
      title: "Mend API",
      version,
      description:
        "Durable, self-healing execution of AI agents' code and tools. Failed executions are results " +
        '(status "failed" with a structured failure); HTTP errors are application/problem+json. Any route ' +
        "that reads or writes the store answers 503 `urn:mend:problem:storage_unavailable` with Retry-After " +
        "while the store cannot take writes (disk full, read-only, database unreachable): nothing of that " +
        "request was acknowledged, and retrying it later is safe.",
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: c.schemas,
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "An API key (none needed on loopback without keys)",
        },
      },
    },
  };
}
