// Entry of a QuickJS worker thread: loads the wasm module once (bounded memory), then runs one script at a time.
import { parentPort, workerData } from "node:worker_threads";
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSSyncVariant,
} from "quickjs-emscripten-core";
import * as releaseSync from "@jitl/quickjs-wasmfile-release-sync";
import { crashFailure } from "../guest-failures.ts";
import { GuestRun } from "./guest-run.ts";
import type { DoneMessage, HostToWorker, WorkerConfig, WorkerToHost } from "./protocol.ts";

const PAGE = 64 * 1024;
const MiB = 1024 * 1024;

const port = parentPort;
if (port === null) throw new Error("quickjs/worker.ts must run in a worker thread");
const config = workerData as WorkerConfig;

// The wasm memory is given a hard maximum: a guest cannot grow it past that, whatever QuickJS's
// own accounting says (its allocator overhead makes the real footprint several times memoryMb).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
type WasmMemoryOption = NonNullable<Parameters<typeof newVariant>[1]["wasmMemory"]>;
const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => WasmMemory } })
  .WebAssembly;
const memory = new wasm.Memory({ initial: 256, maximum: Math.ceil((config.wasmMemoryMaxMb * MiB) / PAGE) });
// The package's types describe its CommonJS build; under ESM its default export is the variant itself.
const variant = (releaseSync as unknown as { default: QuickJSSyncVariant }).default;
const module = await newQuickJSWASMModuleFromVariant(
  newVariant(variant, { wasmMemory: memory as unknown as WasmMemoryOption }),
);

const send = (message: WorkerToHost): void => port.postMessage(message);
let current: GuestRun | undefined;

async function runOne(msg: Extract<HostToWorker, { type: "run" }>): Promise<void> {
  const run = new GuestRun(module, msg, send);
  current = run;
  let done: DoneMessage;
  try {
    const result = await run.run();
    const grownMb = memory.buffer.byteLength / MiB;
    const recycleReason = result.tainted
      ? "runtime not disposed cleanly"
      : grownMb > config.recycleAboveMb
        ? `wasm memory grew to ${Math.round(grownMb)} MiB`
        : undefined;
    done = {
      type: "done",
      id: msg.id,
      outcome: result.outcome,
      logs: result.logs,
      logsTruncated: result.logsTruncated,
      recycle: recycleReason !== undefined,
      ...(recycleReason !== undefined ? { recycleReason } : {}),
    };
  } catch (error) {
    const cause = run.crashCause ?? error;
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const nearMax = memory.buffer.byteLength >= config.wasmMemoryMaxMb * MiB * 0.9;
    done = {
      type: "done",
      id: msg.id,
      outcome: {
        status: "failed",
        failure: crashFailure(msg.limits, nearMax ? `out of memory (${reason})` : reason),
      },
      ...run.logs,
      recycle: true,
      recycleReason: reason,
    };
  } finally {
    current = undefined;
  }
  send(done);
}

port.on("message", (msg: HostToWorker) => {
  if (msg.type === "run") void runOne(msg);
  else if (current?.id === msg.id) current.settle(msg);
});
send({ type: "ready" });
