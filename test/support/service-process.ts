// Starts the real service as a child process (`mend serve`) on a free loopback port, for end-to-end tests.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

import { build, staleness } from "../../scripts/build-dist.ts";

/** The service's entry from the sources (type stripping at run time) or from the bundle (dist/). */
const ENTRIES = {
  sources: new URL("../../service/src/cli/main.ts", import.meta.url).pathname,
  dist: new URL("../../dist/mend.js", import.meta.url).pathname,
};
let entry: keyof typeof ENTRIES = "sources";

/**
 * Makes every later startService (and createKey) spawn the bundle, dist/mend.js, as `npm start` and the
 * image do; rebuilds dist/ first when it is missing or older than the sources (never runs a stale one).
 * Benchmarks call it: they measure what production runs. Tests run the sources unless they call it.
 * @example await useDist(); const svc = await startService();
 */
export async function useDist(): Promise<void> {
  if (staleness() !== null) await build();
  entry = "dist";
}

/** Which entry startService spawns now. */
export function serviceEntry(): { kind: keyof typeof ENTRIES; path: string } {
  return { kind: entry, path: ENTRIES[entry] };
}

export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  dataDir: string;
  /** Every log line the service wrote (JSON). */
  logs: string[];
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns `node service/src/cli/main.ts serve` (or `node dist/mend.js serve` after useDist(), or the entry
 * `opts.entry` names) and waits for its "mend listening" log line.
 * @example const svc = await startService({ MEND_POOL_SIZE: "0" }); await fetch(svc.url + "/healthz")
 */
export async function startService(
  env: Record<string, string> = {},
  dataDir?: string,
  opts: { entry?: keyof typeof ENTRIES; entryPath?: string; execArgv?: string[] } = {},
): Promise<ServiceProcess> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "mend-e2e-"));
  const child = spawn(
    process.execPath,
    [...(opts.execArgv ?? []), opts.entryPath ?? ENTRIES[opts.entry ?? entry], "serve"],
    {
      env: {
        ...process.env,
        MEND_PORT: "0",
        MEND_DATA_DIR: dir,
        MEND_LOG_LEVEL: "info",
        MEND_POOL_SIZE: "0",
        // Tool fixtures listen on loopback; the SSRF tests set "0" to see the default refusal.
        MEND_NETWORK_ALLOW_LOOPBACK: "1",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.on("line", (line) => {
      logs.push(line);
      try {
        const rec = JSON.parse(line) as { msg?: string; url?: string };
        if (rec.msg === "mend listening" && rec.url) resolve(rec.url);
      } catch {
        /* not JSON: keep it in logs */
      }
    });
    void exited.then(({ code, signal }) =>
      reject(
        new Error(
          `service exited before listening (code ${code}, signal ${signal}): ${stderr}${logs.join("\n")}`,
        ),
      ),
    );
  });
  return {
    url,
    child,
    dataDir: dir,
    logs,
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * `mend keys create` in a child process on the service's data dir → the key (last line of stdout).
 * @example const key = await createKey({ MEND_DATA_DIR: dir, MEND_POLICIES_DIR: policies }, "acme", "default")
 */
export async function createKey(
  env: Record<string, string>,
  tenant: string,
  policy: string,
): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [ENTRIES[entry], "keys", "create", "--tenant", tenant, "--policy", policy],
    { env: { ...process.env, ...env } },
  );
  return stdout.trimEnd().split("\n").at(-1)!;
}
