// Entry of a Monty child process: starts the interpreter thread with a large native stack and relays messages.
//
// Monty recurses natively in places (parsing, json.dumps of nested data, builtins calling back into
// Python). On the 8 MiB main-thread stack such scripts crash the process; on a thread with a stack of
// `argv[2]` MiB (reserved, not committed) they end in RecursionError instead. A crash that still
// happens ends this process only: the host sees the exit and replaces it.
import { Worker } from "node:worker_threads";

if (process.send === undefined) throw new Error("monty/child-main.ts must run as a forked child process");
const [stackMb, heapMb] = process.argv.slice(2).map(Number);

const thread = new Worker(new URL("./monty-thread.ts", import.meta.url), {
  resourceLimits: { stackSizeMb: stackMb ?? 256, maxOldGenerationSizeMb: heapMb ?? 256 },
});
process.on("message", (message) => thread.postMessage(message));
thread.on("message", (message) => process.send!(message));
thread.on("error", (error) => {
  process.stderr.write(`monty thread failed: ${error.name}: ${error.message}\n`);
  process.exit(70);
});
thread.on("exit", (code) => process.exit(code === 0 ? 71 : code));
// The service went away (even by SIGKILL): nothing here outlives it.
process.on("disconnect", () => process.exit(0));
