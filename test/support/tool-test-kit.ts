// Shared by the tool end-to-end suites: an allow-everything policy folder and an API client that keeps every body.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A policies folder whose `default` allows every tool and http.fetch to 127.0.0.1.
 * @example startService({ MEND_POLICIES_DIR: openPolicyDir() })
 */
export function openPolicyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mend-tool-policies-"));
  writeFileSync(
    join(dir, "default.yaml"),
    ["name: default", "tools:", '  allow: ["**"]', "http:", '  allowHosts: ["127.0.0.1"]', ""].join("\n"),
  );
  return dir;
}

export interface ApiResult {
  status: number;
  /** Parsed JSON; `any` so assertions can reach into it. */

  body: any;
  text: string;
}

/**
 * JSON calls to the service; every response text is kept in `seen` so a test can grep them all.
 * @example const api = apiClient(svc.url); const r = await api.post("/v1/tools", {...})
 */
export function apiClient(base: string) {
  const seen: string[] = [];
  const call = async (method: string, path: string, body?: unknown): Promise<ApiResult> => {
    const res = await fetch(base + path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    seen.push(text);
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, text };
  };
  return {
    seen,
    get: (path: string) => call("GET", path),
    post: (path: string, body: unknown) => call("POST", path, body),
    delete: (path: string) => call("DELETE", path),
  };
}

/**
 * Files under `dir` (recursively) whose bytes contain `needle`, SQLite database and WAL included.
 * @example assert.deepEqual(filesContaining(svc.dataDir, secret), [])
 */
export function filesContaining(dir: string, needle: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesContaining(p, needle));
    else if (readFileSync(p).includes(Buffer.from(needle))) out.push(p);
  }
  return out;
}
