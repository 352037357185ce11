// Small JSON-over-HTTP helpers for end-to-end tests (status + parsed body in one call).

export interface JsonReply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * Sends a JSON request and parses the reply (problem+json included).
 * @example const { status, body } = await call(url, "POST", "/v1/runs", { mode: "client" })
 */
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonReply<T>> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}
