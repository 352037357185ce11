// The root every policy extends implicitly: safe defaults when no policy file says otherwise.
import type { Policy } from "./policy-schema.ts";

const MIB = 1024 * 1024;

/** Built-in base policy (policies/default.yaml refines it). */
export const BASE_POLICY: Omit<Policy, "name" | "version"> = {
  tools: { allow: ["echo", "sleep"], deny: [], registered: [] },
  codemode: {
    enabled: true,
    engines: ["quickjs", "v8", "monty"],
    languages: ["javascript", "typescript", "python"],
    defaults: {
      memoryMb: 32,
      timeoutMs: 5_000,
      stackKb: 512,
      maxToolCalls: 1_000,
      maxLogBytes: 64 * 1024,
      maxResultBytes: 1024 * 1024,
    },
    max: {
      memoryMb: 256,
      timeoutMs: 60_000,
      stackKb: 4096,
      maxToolCalls: 10_000,
      maxLogBytes: 1024 * 1024,
      maxResultBytes: 4 * 1024 * 1024,
    },
  },
  container: {
    enabled: true,
    images: ["python", "node", "shell"],
    network: {},
    // What images/python installs (images/python/Dockerfile); node and shell carry their standard libraries.
    modules: { python: ["numpy", "pandas", "matplotlib", "requests"] },
    runtime: "runc",
    defaults: { memoryMb: 256, cpus: 1, timeoutMs: 10_000, diskMb: 256, pids: 64, outputBytes: 1024 * 1024 },
    max: {
      memoryMb: 2048,
      cpus: 2,
      timeoutMs: 300_000,
      diskMb: 2048,
      pids: 512,
      outputBytes: 16 * 1024 * 1024,
    },
  },
  cache: {},
  remediation: {
    out_of_memory: { retries: 1, backoffMs: 0, memoryMultiplier: 2 },
    disk_full: { retries: 1, backoffMs: 0, diskMultiplier: 2 },
    // engine loss: a short first retry (another engine takes it), later ones span an engine outage
    container_lost: { retries: 3, backoffMs: 200, outageMs: 10_000 },
    sandbox_unavailable: { retries: 3, backoffMs: 200, outageMs: 10_000 },
    llm_failed: { retries: 10, backoffMs: 1_000 },
  },
  budgets: {
    iterations: 30,
    consecutiveFailures: 4,
    wallMs: 30 * 60_000,
    tokens: 500_000,
    outageMs: 10 * 60_000,
    onExhausted: "ask_human",
  },
  http: { allowHosts: [] },
  network: { allow: [] },
  // Quotas per tenant (README "Quotas"): generous defaults that stop one tenant from filling the disk.
  limits: {
    journalBytes: 1024 * MIB,
    blobBytes: 2048 * MIB,
    cacheBytes: 64 * MIB,
    toolArgsBytes: 4 * MIB,
    toolResultBytes: 16 * MIB,
    sseStreams: 32,
  },
};
