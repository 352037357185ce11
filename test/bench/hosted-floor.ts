// The floor of a hosted-run turn's CPU: what one streamed call to the fake model and one 'return 1' in Mend's
// QuickJS engine cost by themselves (peers/hosted-floor-child.ts, a process of its own), at the same
// concurrency as the runs; Mend's CPU per turn minus this is what Mend adds.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startFakeLlm } from "../support/fake-llm.ts";
import { runOrchestration } from "../support/fake-llm-turns.ts";

const CHILD = new URL("./peers/hosted-floor-child.ts", import.meta.url).pathname;

export interface FloorResult {
  turns: number;
  failed: number;
  cpuMs: number;
  cpuPerTurnMs: number;
  wallMs: number;
}

/**
 * `runs` concurrent loops of `turns` floor turns, each sending `body` (a request Mend sent) to a fake model
 * answering in `latencyMs` with the runs' answer (run_orchestration('return 1')).
 * @example const f = await hostedTurnFloor(2000, 10, body, 200, 4); f.cpuPerTurnMs
 */
export async function hostedTurnFloor(
  runs: number,
  turns: number,
  body: string,
  latencyMs: number,
  workers: number,
  part: "both" | "llm" | "engine" = "both",
): Promise<FloorResult> {
  const llm = await startFakeLlm({
    latencyMs,
    keepBodies: false,
    script: () => runOrchestration("return 1"),
  });
  const dir = mkdtempSync(join(tmpdir(), "mend-bench-floor-"));
  try {
    const file = join(dir, "body.json");
    writeFileSync(file, body);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CHILD, llm.url, file, String(runs), String(turns), String(workers), part, String(latencyMs)],
      { maxBuffer: 1024 * 1024, timeout: Math.max(300_000, runs * turns * 20) },
    );
    return JSON.parse(stdout.trim().split("\n").at(-1)!) as FloorResult;
  } finally {
    await llm.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
