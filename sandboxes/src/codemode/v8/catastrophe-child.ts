// Child process of the hostile tests: triggers V8's fatal OOM in an isolate and prints what the engine reported.
// Run on its own (never imported): a process with a lost isolate cannot exit cleanly, so the test kills it.
import { TEST_LIMITS, testRequest } from "../../testing/codemode-fixtures.ts";
import { V8Engine } from "./v8-engine.ts";

const messages: string[] = [];
const engine = new V8Engine({ onCatastrophicError: (message) => messages.push(message) });
const bomb = await engine.execute(
  testRequest(
    "await tools.echo({ text: 'x' }); const m = new Map(); for (let i = 0; ; i++) m.set(i, [i, i]);",
    {
      limits: { ...TEST_LIMITS, timeoutMs: 5000 },
    },
  ),
);
const after = await engine.execute(testRequest("return 6 * 7"));
process.stdout.write(
  `${JSON.stringify({
    kind: bomb.status === "failed" ? bomb.failure.kind : "succeeded",
    catastrophicErrors: engine.catastrophicErrors,
    firstMessage: messages[0],
    after: after.status === "succeeded" ? after.result : after.failure.kind,
  })}\n`,
);
