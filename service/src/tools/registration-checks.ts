// The shape checks of a tool or MCP server registration: endpoint URLs, header names and values, env names.

/** One problem of a registration body: a JSON pointer into it, and what is wrong there. */
export type Problem = { path: string; message: string };

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Headers the service sets itself (or that HTTP owns); a registration may not override them. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "content-type",
  "transfer-encoding",
  "connection",
  "idempotency-key",
]);

/**
 * Problems of an endpoint: an http(s) URL without credentials in it.
 * @example checkEndpoint("ftp://example.com") // [{ path: "/endpoint", message: "expected an http(s) URL" }]
 */
export function checkEndpoint(endpoint: string, path = "/endpoint"): Problem[] {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return [{ path, message: "not a valid URL" }];
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return [{ path, message: "expected an http(s) URL" }];
  if (url.username || url.password) {
    return [
      { path, message: "credentials in the URL would be returned by the API; put them in headers instead" },
    ];
  }
  return [];
}

/**
 * Problems of registered headers: valid names the service does not set itself, values on one line.
 * @example checkHeaders({ Host: "x" }) // [{ path: "/headers/Host", message: "set by the service; ..." }]
 */
export function checkHeaders(headers: Record<string, string>): Problem[] {
  const out: Problem[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (!HEADER_NAME.test(k)) out.push({ path: `/headers/${k}`, message: "not a valid header name" });
    else if (RESERVED_HEADERS.has(k.toLowerCase()))
      out.push({ path: `/headers/${k}`, message: "set by the service; cannot be overridden" });
    // The value itself is never echoed back: it may be a credential.
    if (/[\r\n\0]/.test(v))
      out.push({ path: `/headers/${k}`, message: "the value contains a line break or NUL" });
  }
  return out;
}

/**
 * Problems of a stdio server's environment: valid variable names, values without NUL.
 * @example checkEnv({ "1X": "v" }) // [{ path: "/env/1X", message: "not a valid environment variable name" }]
 */
export function checkEnv(env: Record<string, string>): Problem[] {
  return Object.entries(env).flatMap(([k, v]) => [
    ...(ENV_NAME.test(k) ? [] : [{ path: `/env/${k}`, message: "not a valid environment variable name" }]),
    ...(v.includes("\0") ? [{ path: `/env/${k}`, message: "the value contains NUL" }] : []),
  ]);
}
