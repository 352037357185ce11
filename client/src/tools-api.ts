// mend.tools: the tools the caller's policy allows, HTTP tool registration, their TypeScript declarations and Python stubs.
import type { Transport } from "./http.ts";
import type { RegisterTool, ToolInfo } from "./wire-types.ts";

/**
 * Tools of the caller's tenant.
 * @example const names = (await mend.tools.list()).map((t) => t.name)
 */
export class ToolsApi {
  readonly #t: Transport;

  constructor(t: Transport) {
    this.#t = t;
  }

  list(): Promise<ToolInfo[]> {
    return this.#t.request<ToolInfo[]>({ method: "GET", path: "/v1/tools" });
  }

  get(name: string): Promise<ToolInfo> {
    return this.#t.request<ToolInfo>({ method: "GET", path: `/v1/tools/${encodeURIComponent(name)}` });
  }

  /** Registers (or updates) an HTTP tool; `headers` (credentials) stay in the service. */
  register(spec: RegisterTool): Promise<ToolInfo> {
    return this.#t.request<ToolInfo>({ method: "POST", path: "/v1/tools", body: spec });
  }

  async delete(name: string): Promise<void> {
    await this.#t.request({ method: "DELETE", path: `/v1/tools/${encodeURIComponent(name)}` });
  }

  /** `declare const tools: {...}` for the caller's tools: context for an LLM writing code-mode scripts. */
  async dts(): Promise<string> {
    const res = await this.#t.request<Response>({ method: "GET", path: "/v1/tools.d.ts", raw: true });
    return res.text();
  }

  /** Python stubs (`class _Tools: ...`) of the caller's tools: context for an LLM writing Python code-mode scripts. */
  async pyi(): Promise<string> {
    const res = await this.#t.request<Response>({ method: "GET", path: "/v1/tools.pyi", raw: true });
    return res.text();
  }
}
