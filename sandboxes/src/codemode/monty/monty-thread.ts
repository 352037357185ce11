// The Monty interpreter thread of a child process: holds paused interpreters, runs one segment (start → next
// tool call) at a time. It runs on a worker thread only for its large native stack (child-main.ts).
//
// The native interpreter runs here, never in the service's process: a crash of it (a segfault on a
// pathological parse, an abort) ends this child process only. Only plain data crosses the boundary.
import { readFileSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { Monty, MontyComplete, MontyNameLookup, MontySnapshot } from "@pydantic/monty";
import { seedState, type ModuleResult } from "./mend-modules.ts";
import { describeProblem, fromJson, toJsonText } from "./monty-values.ts";
import type { ChildToHost, GuestEnd, GuestSetup, GuestState, HostToChild, Settle } from "./protocol.ts";
import { depthOf, type Exec } from "./monty-exec.ts";
import { inputs } from "./guest-inputs.ts";
import { errorOf } from "./guest-error.ts";
import { classifyCall } from "./paused-call.ts";

const MiB = 1024 * 1024;
const port = parentPort;
if (port === null) throw new Error("monty/monty-thread.ts must run in a worker thread");
const send = (message: ChildToHost): void => port.postMessage(message);

type Progress = MontySnapshot | MontyNameLookup | MontyComplete;

const execs = new Map<number, Exec>();

function newExec(id: number, setup: GuestSetup, guest: GuestState): Exec {
  const spaces = new Map(setup.namespaces.map((s) => [s.typeId, s]));
  const exec: Exec = { id, setup, guest, spaces, lines: [] };
  execs.set(id, exec);
  return exec;
}

/** `print` output becomes log lines, capped at maxLogBytes; past the cap every print raises. */
function printer(exec: Exec): (stream: string, text: string) => void {
  return (_stream, text) => {
    const g = exec.guest;
    const cap = exec.setup.limits.maxLogBytes;
    if (g.logsTruncated) throw new Error(`print output is over its ${cap}-byte cap`);
    const pieces = (g.partial + text).split("\n");
    g.partial = pieces.pop()!;
    for (const line of [...pieces, ...(Buffer.byteLength(g.partial) + g.logBytes > cap ? [g.partial] : [])]) {
      const bytes = Buffer.byteLength(line);
      if (g.logBytes + bytes <= cap) {
        exec.lines.push(line);
        g.logBytes += bytes;
        continue;
      }
      const kept = Buffer.from(line)
        .subarray(0, cap - g.logBytes)
        .toString("utf8")
        .replace(/\uFFFD$/, "");
      if (kept !== "") exec.lines.push(kept);
      g.logBytes += Buffer.byteLength(kept);
      g.logsTruncated = true;
      g.partial = "";
      // Told now, not at the segment's end: a script that catches this and keeps printing is stopped by
      // the host (every print allocates on this thread's heap until the segment returns).
      send({ type: "overflow", id: exec.id, logs: exec.lines });
      exec.lines = [];
      throw new Error(`print output is over its ${cap}-byte cap`);
    }
  };
}

function finish(exec: Exec, end: GuestEnd): void {
  execs.delete(exec.id);
  if (exec.guest.partial !== "" && !exec.guest.logsTruncated) exec.lines.push(exec.guest.partial);
  send({
    type: "done",
    id: exec.id,
    end,
    logs: exec.lines,
    logsTruncated: exec.guest.logsTruncated,
    rssMb: process.memoryUsage.rss() / MiB,
  });
}

function resultEnd(exec: Exec, output: unknown): GuestEnd {
  const json = toJsonText(output, exec.setup.limits.maxResultBytes, depthOf(exec));
  if (json.ok) return { status: "succeeded", resultJson: json.json };
  return {
    status: "failed",
    error: {
      kind: "result",
      message: describeProblem(json, "The script's result"),
      tooBig: json.problem === "too_big",
      ...(json.problem === "too_big" && json.bytes !== undefined ? { bytes: json.bytes } : {}),
    },
  };
}

/** Runs the interpreter until it pauses at a tool call (sent to the host) or ends (sent too). */
function drive(exec: Exec, first: () => Progress): void {
  let progress: Progress;
  try {
    progress = first();
    for (;;) {
      if (progress instanceof MontyComplete) return finish(exec, resultEnd(exec, progress.output));
      if (progress instanceof MontyNameLookup) {
        progress = progress.resume();
        continue;
      }
      const step = classifyCall(exec, progress);
      if (step.kind === "call") return pause(exec, progress, step.tool, step.argsJson);
      const result: ModuleResult =
        step.kind === "resume" ? step.result : { ok: false, type: step.type, message: step.message };
      progress = result.ok
        ? progress.resume({ returnValue: result.value })
        : progress.resume({ exception: { type: result.type, message: result.message } });
    }
  } catch (error) {
    finish(exec, { status: "failed", error: errorOf(error, false) });
  }
}

function pause(exec: Exec, snapshot: MontySnapshot, tool: string, argsJson: string): void {
  exec.paused = snapshot;
  let state: Uint8Array | undefined;
  if (exec.setup.dump) {
    try {
      const dumped = snapshot.dump();
      if (dumped.length <= exec.setup.maxSnapshotBytes) state = dumped;
    } catch {
      // No snapshot this time: the call goes on; a resume after a crash replays from the journal.
    }
  }
  const lines = exec.lines;
  exec.lines = [];
  send({
    type: "call",
    id: exec.id,
    tool,
    argsJson,
    ...(state !== undefined ? { state } : {}),
    guest: { ...exec.guest, modules: { ...exec.guest.modules } },
    logs: lines,
    rssMb: process.memoryUsage.rss() / MiB,
  });
}

function settled(exec: Exec, snapshot: MontySnapshot, settle: Settle): Progress {
  if (!settle.ok) return snapshot.resume({ exception: { type: settle.type, message: settle.message } });
  let value: unknown;
  try {
    value = fromJson(JSON.parse(settle.json));
  } catch (error) {
    return snapshot.resume({
      exception: {
        type: "RuntimeError",
        message: `The tool's result cannot be read: ${(error as Error).message}`,
      },
    });
  }
  return snapshot.resume({ returnValue: value });
}

function start(id: number, source: string, setup: GuestSetup): void {
  const exec = newExec(id, setup, {
    modules: { rng: seedState(setup.seed), virtualMs: 0 },
    logBytes: 0,
    logsTruncated: false,
    partial: "",
  });
  let monty: Monty;
  const values = inputs(exec);
  try {
    monty = new Monty(source, { scriptName: "script.py", inputs: Object.keys(values) });
  } catch (error) {
    return finish(exec, { status: "failed", error: errorOf(error, true) });
  }
  const limits = setup.limits;
  drive(exec, () =>
    monty.start({
      inputs: values,
      limits: {
        maxMemory: limits.maxMemoryBytes,
        maxDurationSecs: limits.maxDurationSecs,
        maxRecursionDepth: limits.maxRecursionDepth,
      },
      printCallback: printer(exec),
    }),
  );
}

port.on("message", (message: HostToChild) => {
  switch (message.type) {
    case "start":
      return start(message.id, message.source, message.setup);
    case "resume": {
      const exec = execs.get(message.id);
      const snapshot = exec?.paused;
      if (exec === undefined || snapshot === undefined) return;
      exec.paused = undefined;
      return drive(exec, () => settled(exec, snapshot, message.settle));
    }
    case "load": {
      const exec = newExec(message.id, message.setup, message.guest);
      return drive(exec, () => {
        const snapshot = MontySnapshot.load(Buffer.from(message.state), { printCallback: printer(exec) });
        return settled(exec, snapshot, message.settle);
      });
    }
    case "drop":
      execs.delete(message.id);
      return;
  }
});

const montyVersion = (() => {
  try {
    const pkg = new URL("package.json", import.meta.resolve("@pydantic/monty"));
    return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
})();
send({ type: "ready", montyVersion });
