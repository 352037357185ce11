// The floor of a hosted run's turn, in a process of its own: one streamed undici call to the fake model (the
// same request bytes Mend sent) read to its end, then one 'return 1' in Mend's QuickJS engine — no journal,
// no policy, no prompt building. Prints its own CPU time (all threads) per turn as one JSON line.
// Usage: node hosted-floor-child.ts <model url> <request body file> <runs> <turns> <quickjs workers>
//   [both|llm|engine] [model latency ms: the engine alone waits it instead of calling the model]
import { readFileSync } from "node:fs";
import { Agent, request } from "undici";
import { QuickJsEngine } from "../../../sandboxes/src/codemode/quickjs/quickjs-engine.ts";

const [url, bodyFile, runsArg, turnsArg, workersArg, part = "both", latencyArg] = process.argv.slice(2);
const runs = Number(runsArg);
const turns = Number(turnsArg);
const body = readFileSync(bodyFile!);
// As Mend's provider pool (llm/provider-pool.ts): keep-alive, at most 1,024 sockets to the model server.
const pool = new Agent({ connections: 1024, pipelining: 1 });
const engine = new QuickJsEngine({ workers: Number(workersArg) });
const limits = {
  memoryMb: 64,
  timeoutMs: 30_000,
  stackKb: 256,
  maxToolCalls: 100,
  maxLogBytes: 64 * 1024,
  maxResultBytes: 1024 * 1024,
};

const latencyMs = Number(latencyArg ?? 200);

async function turn(): Promise<void> {
  // The engine alone still waits the model's latency between executions: as many at once as in the runs.
  if (part !== "engine") await modelCall();
  else await new Promise((r) => setTimeout(r, latencyMs));
  if (part !== "llm") await returnOne();
}

async function modelCall(): Promise<void> {
  const res = await request(`${url}/chat/completions`, {
    method: "POST",
    dispatcher: pool,
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body,
  });
  if (res.statusCode !== 200) throw new Error(`fake model answered ${res.statusCode}`);
  // Read the stream to its end, as the provider does (its assembly not included: the bytes only).
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of res.body) text += decoder.decode(chunk as Buffer, { stream: true });
  if (!text.includes("[DONE]")) throw new Error("the stream did not end with [DONE]");
}

async function returnOne(): Promise<void> {
  const out = await engine.execute({
    code: "return 1",
    language: "javascript",
    tools: [],
    limits,
    seed: 1,
    clockMs: Date.now(),
    invokeTool: async () => ({ ok: true, value: null }),
  });
  if (out.status !== "succeeded") throw new Error(`return 1 ${out.status}`);
}

// Warm: the workers' QuickJS modules, the first connection.
await turn();
const c0 = process.cpuUsage();
const t0 = performance.now();
let failed = 0;
await Promise.all(
  Array.from({ length: runs }, async () => {
    for (let t = 0; t < turns; t++) await turn().catch(() => failed++);
  }),
);
const c = process.cpuUsage(c0);
const n = runs * turns;
console.log(
  JSON.stringify({
    turns: n,
    failed,
    cpuMs: (c.user + c.system) / 1000,
    cpuPerTurnMs: (c.user + c.system) / 1000 / n,
    wallMs: performance.now() - t0,
  }),
);
await engine.dispose();
await pool.close();
process.exit(0);
