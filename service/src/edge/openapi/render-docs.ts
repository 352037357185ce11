// Renders the OpenAPI document as one self-contained HTML page (inline CSS, no scripts, nothing fetched).

type Json = Record<string, unknown>;

const esc = (s: unknown): string =>
  String(s).replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!,
  );

const pretty = (v: unknown): string => `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;

/** A short type label for a schema: a link for $refs, the type or the union of literals otherwise. */
function typeLabel(s: Json | undefined): string {
  if (!s) return "";
  if (typeof s.$ref === "string") {
    const name = s.$ref.split("/").pop()!;
    return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  }
  if (s.const !== undefined) return `<code>${esc(JSON.stringify(s.const))}</code>`;
  if (Array.isArray(s.anyOf)) return (s.anyOf as Json[]).map(typeLabel).join(" | ");
  if (s.type === "array") return `${typeLabel(s.items as Json)}[]`;
  return esc(s.type ?? "any");
}

function media(content: unknown): string {
  if (!content || typeof content !== "object") return "";
  return Object.entries(content as Record<string, Json>)
    .map(
      ([type, m]) =>
        `<div class="media"><span class="ct">${esc(type)}</span> ${typeLabel(m.schema as Json | undefined)}` +
        (m.schema && !(m.schema as Json).$ref
          ? `<details><summary>schema</summary>${pretty(m.schema)}</details>`
          : "") +
        (m.example !== undefined ? `<details><summary>example</summary>${pretty(m.example)}</details>` : "") +
        `</div>`,
    )
    .join("");
}

function operation(path: string, method: string, op: Json): string {
  const params = (op.parameters as Json[] | undefined) ?? [];
  const rows = params
    .map(
      (p) =>
        `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${typeLabel(p.schema as Json)}</td>` +
        `<td>${esc((p.description as string | undefined) ?? ((p.schema as Json).description as string | undefined) ?? "")}</td></tr>`,
    )
    .join("");
  const body = op.requestBody as Json | undefined;
  const responses = Object.entries((op.responses as Record<string, Json>) ?? {})
    .map(([status, r]) => `<li><b>${esc(status)}</b> ${esc(r.description)}${media(r.content)}</li>`)
    .join("");
  return (
    `<section class="op" id="op-${esc(op.operationId)}"><h3><span class="m m-${esc(method)}">${esc(method.toUpperCase())}</span> ` +
    `<code>${esc(path)}</code></h3><p>${esc(op.summary)}</p>` +
    (op.description ? `<p class="desc">${esc(op.description)}</p>` : "") +
    (rows ? `<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>${rows}</table>` : "") +
    (body ? `<h4>Request body</h4>${media(body.content)}` : "") +
    `<h4>Responses</h4><ul>${responses}</ul></section>`
  );
}

const CSS = `body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex;color:#1d2330}
nav{width:260px;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f5f8;padding:16px;box-sizing:border-box}
nav a{display:block;color:#1d2330;text-decoration:none;font-size:13px;padding:2px 0}nav h4{margin:14px 0 4px}
main{padding:24px 40px;max-width:980px}pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:12px}
.m{display:inline-block;min-width:58px;text-align:center;border-radius:4px;color:#fff;font-size:12px;padding:2px 6px}
.m-get{background:#2f7ad3}.m-post{background:#2e9d5b}.m-put{background:#c98a12}.m-delete{background:#c4432b}
.op{border-top:1px solid #ddd;padding:8px 0}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px}
.ct{color:#666;font-size:12px}.media{margin:4px 0}.desc{color:#444}`;

/**
 * The reference page for `doc`: navigation by tag, every operation, every component schema.
 * @example c.html(renderDocs(buildOpenApi(VERSION)))
 */
export function renderDocs(doc: Json & { paths: Record<string, Record<string, Json>> }): string {
  const info = doc.info as Json;
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      path,
      method,
      op,
      tag: (op.tags as string[])[0] ?? "",
    })),
  );
  const tags = [...new Set(ops.map((o) => o.tag))];
  const schemas = ((doc.components as Json).schemas as Record<string, Json>) ?? {};
  const nav =
    tags
      .map(
        (t) =>
          `<h4>${esc(t)}</h4>` +
          ops
            .filter((o) => o.tag === t)
            .map(
              (o) =>
                `<a href="#op-${esc(o.op.operationId)}">${esc(o.method.toUpperCase())} ${esc(o.path)}</a>`,
            )
            .join(""),
      )
      .join("") +
    `<h4>Schemas</h4>${Object.keys(schemas)
      .map((n) => `<a href="#schema-${esc(n)}">${esc(n)}</a>`)
      .join("")}`;
  const body =
    tags
      .map(
        (t) =>
          `<h2>${esc(t)}</h2>${ops
            .filter((o) => o.tag === t)
            .map((o) => operation(o.path, o.method, o.op))
            .join("")}`,
      )
      .join("") +
    `<h2>Schemas</h2>${Object.entries(schemas)
      .map(([n, s]) => `<section id="schema-${esc(n)}"><h3>${esc(n)}</h3>${pretty(s)}</section>`)
      .join("")}`;
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)} ${esc(info.version)}</title>` +
    `<meta name="viewport" content="width=device-width,initial-scale=1"><style>${CSS}</style></head>` +
    `<body><nav><b>${esc(info.title)}</b> <small>${esc(info.version)}</small><br><a href="/v1/openapi.json">openapi.json</a>${nav}</nav>` +
    `<main><h1>${esc(info.title)}</h1><p>${esc(info.description)}</p>${body}</main></body></html>`
  );
}
