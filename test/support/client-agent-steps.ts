// An agent process for the crash test: a named run whose steps count their side effects in a file.
// Env: MEND_URL, RUN_NAME, EFFECTS_FILE, BLOCK_AT (step number whose work hangs after its side effect).
import { appendFileSync } from "node:fs";
import { Mend } from "../../client/src/index.ts";

const { MEND_URL, RUN_NAME, EFFECTS_FILE, BLOCK_AT } = process.env;
const mend = new Mend({ baseUrl: MEND_URL!, retries: { attempts: 3, baseDelayMs: 20 } });
const run = await mend.runs.open(RUN_NAME!, { goal: "sum of squares, durably" });
console.log(JSON.stringify({ event: "opened", runId: run.id }));

const square = run.durable("square", async (i: number) => {
  appendFileSync(EFFECTS_FILE!, `square ${i}\n`);
  if (String(i) === BLOCK_AT) {
    console.log(JSON.stringify({ event: "blocked", step: i }));
    await new Promise(() => undefined); // hangs until the test kills the process
  }
  return i * i;
});

let total = 0;
for (let i = 1; i <= 6; i++) {
  total += await square(i);
  if (i === 2) {
    const res = await run.execute("double-check", { type: "codemode", code: `return ${total} * 2` });
    console.log(JSON.stringify({ event: "executed", replayed: res.replayed, result: res.result }));
  }
}
const done = await run.complete({ total });
console.log(JSON.stringify({ event: "completed", status: done.status, total }));
