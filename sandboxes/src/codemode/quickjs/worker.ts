// Entry of a QuickJS worker thread: loads the wasm module once (bounded memory), then hosts many guests, one slice at a time.
import { parentPort, workerData } from "node:worker_threads";
import type { QuickJSSyncVariant } from "quickjs-emscripten-core";
import * as releaseSync from "@jitl/quickjs-wasmfile-release-sync";
import { makeFailure } from "@mend/wire";
import { GuestRun, type SliceEnd } from "./guest-run.ts";
import { loadExactQuickJS } from "./exact-allocator.ts";
import {
  CONTROL_ABORT,
  type GuestCall,
  type HostToWorker,
  type WorkerConfig,
  type WorkerToHost,
} from "./protocol.ts";

const PAGE = 64 * 1024;
const MiB = 1024 * 1024;

const port = parentPort;
if (port === null) throw new Error("quickjs/worker.ts must run in a worker thread");
const config = workerData as WorkerConfig;
const control = new Int32Array(config.control);

// The wasm memory is given a hard maximum: guests cannot grow it past that, whatever QuickJS's own
// accounting says. It is shared by every guest of this worker (the host places guests by memory).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => WasmMemory } })
  .WebAssembly;
const memory = new wasm.Memory({ initial: 256, maximum: Math.ceil((config.wasmMemoryMaxMb * MiB) / PAGE) });
// The package's types describe its CommonJS build; under ESM its default export is the variant itself.
const variant = (releaseSync as unknown as { default: QuickJSSyncVariant }).default;
// Loaded with every block charged its real size: QuickJS's own memory limit then holds in bytes.
const { module, allocator } = await loadExactQuickJS(variant, memory);

// Growth of the wasm memory goes through this object's grow() (emscripten's resize_heap). During a slice,
// growth beyond what the running guest's memory limit can explain is refused: its malloc fails, QuickJS
// throws "out of memory" at once and the guest is stopped, even when its allocations are so large that
// the interrupt handler (and its measurement) would come too late. Growth the memory's maximum refuses
// while the guest is within its allowance is the worker's fault (other guests hold the room): the guest
// starts over on another worker (GuestRun.workerMemoryFull).
let sliceGuest: GuestRun | undefined;
let sliceStartBytes = 0;
/**
 * emscripten_resize_heap tries three sizes — 20 %, 10 %, then 5 % past the current memory, each at least
 * what the allocation needs — and fails the allocation only when all three fail; the last try is the
 * smallest. A refused try is judged only then: an over-grown first try is no reason to stop a guest.
 */
const RESIZE_TRIES = 3;
let failedTries = 0;
const grow = memory.grow.bind(memory);
memory.grow = (pages: number): number => {
  const guest = sliceGuest;
  const overAllowance =
    guest !== undefined &&
    memory.buffer.byteLength + pages * PAGE > sliceStartBytes + guest.growthAllowanceBytes;
  try {
    if (overAllowance)
      throw new RangeError("wasm memory growth refused: the running guest is over its memory limit");
    const previous = grow(pages);
    failedTries = 0;
    return previous;
  } catch (error) {
    if (++failedTries >= RESIZE_TRIES && guest !== undefined) {
      failedTries = 0;
      // Alone in its worker, the guest filled the memory itself (its limit, fragmented, is more than the
      // worker holds): starting it over elsewhere would end the same way, so that is its own out of memory.
      if (overAllowance) guest.memoryExceeded();
      else if (guests.size <= 1) guest.workerMemoryExhausted(memory.buffer.byteLength);
      else guest.workerMemoryFull();
    }
    throw error;
  }
};

const send = (message: WorkerToHost): void => port.postMessage(message);
const guests = new Map<number, GuestRun>();
/** Set once the module is unusable: nothing more runs here, the host replaces this worker. */
let broken = false;

// A slice's tool calls wait to ride on the message that ends it (one message per slice, not one more per
// call), unless the guest computes on: then the interrupt handler sends them within HOLD_MS of the first.
const HOLD_MS = 1;
let held: GuestCall[] = [];
let heldFor = 0;
let heldSince = 0;

function sendHeld(): void {
  if (held.length === 0) return;
  send({ type: "call", id: heldFor, calls: held });
  held = [];
}

function takeHeld(id: number): { calls?: GuestCall[] } {
  if (held.length === 0 || heldFor !== id) {
    held = [];
    return {};
  }
  const calls = held;
  held = [];
  return { calls };
}

const host = {
  call(id: number, call: GuestCall): void {
    if (held.length > 0 && heldFor !== id) sendHeld();
    if (held.length === 0) {
      heldFor = id;
      heldSince = performance.now();
    }
    held.push(call);
  },
  poll(now: number): void {
    if (held.length > 0 && now - heldSince >= HOLD_MS) sendHeld();
  },
  abortRequested: (id: number) => Atomics.load(control, CONTROL_ABORT) === id,
  allocator,
};

/** Runs one slice of `guest` and reports how it ended; a host fault breaks the worker. */
function slice(guest: GuestRun, run: () => SliceEnd): void {
  let end: SliceEnd;
  sliceGuest = guest;
  sliceStartBytes = memory.buffer.byteLength;
  failedTries = 0;
  try {
    end = run();
  } catch (error) {
    broken = true;
    guests.clear();
    held = [];
    const cause = guest.crashCause ?? error;
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const nearMax = memory.buffer.byteLength >= config.wasmMemoryMaxMb * MiB * 0.9;
    send({ type: "broken", id: guest.id, reason: nearMax ? `out of memory (${reason})` : reason });
    return;
  } finally {
    sliceGuest = undefined;
  }
  const report = {
    id: guest.id,
    ...takeHeld(guest.id),
    ...guest.takeLogs(),
    memoryBytes: end.memoryBytes,
    wasmBytes: memory.buffer.byteLength,
  };
  if (end.kind === "parked") {
    send({ type: "parked", ...report });
    return;
  }
  guests.delete(guest.id);
  send({ type: "done", ...report, outcome: end.outcome });
  // Disposed once the outcome is on its way: the caller does not wait for the runtime's teardown (this
  // worker's next message is handled after it anyway).
  if (!guest.drop()) {
    // A runtime QuickJS could not dispose: the module may be corrupt, so the worker goes.
    broken = true;
    guests.clear();
    send({ type: "broken", reason: "a QuickJS runtime could not be disposed cleanly" });
  }
}

port.on("message", (msg: HostToWorker) => {
  if (broken) return;
  switch (msg.type) {
    case "start": {
      const guest = new GuestRun(module, msg, host);
      guests.set(msg.id, guest);
      slice(guest, () => guest.start());
      return;
    }
    case "settle": {
      const guest = guests.get(msg.id);
      if (guest !== undefined) slice(guest, () => guest.deliver(msg.calls, msg.budgetMs));
      // The host waits for every slice's end: a guest it believes here but that is not still gets one.
      else
        send({
          type: "done",
          id: msg.id,
          logs: [],
          logsTruncated: false,
          memoryBytes: 0,
          wasmBytes: memory.buffer.byteLength,
          outcome: { status: "failed", failure: lostFailure() },
        });
      return;
    }
    case "drop": {
      const guest = guests.get(msg.id);
      guests.delete(msg.id);
      guest?.drop();
      return;
    }
  }
});
send({ type: "ready" });

function lostFailure() {
  return makeFailure("sandbox_unavailable", "The sandbox lost this execution; retry it.", true);
}
