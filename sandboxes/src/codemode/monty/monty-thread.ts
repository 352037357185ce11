// The Monty interpreter thread of a child process: holds paused interpreters, runs one segment (start → next
// tool call) at a time. It runs on a worker thread only for its large native stack (child-main.ts).
//
// The native interpreter runs here, never in the service's process: a crash of it (a segfault on a
// pathological parse, an abort) ends this child process only. Only plain data crosses the boundary.
import { readFileSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import {
  Monty,
  MontyComplete,
  MontyNameLookup,
  MontyRuntimeError,
  MontySnapshot,
  MontySyntaxError,
} from "@pydantic/monty";
import { callModule, seedState, type ModuleResult } from "./mend-modules.ts";
import { MAX_VALUE_DEPTH, describeProblem, fromJson, toJsonText } from "./monty-values.ts";
import type {
  ChildToHost,
  GuestEnd,
  GuestError,
  GuestFrame,
  GuestSetup,
  GuestState,
  HostToChild,
  Settle,
} from "./protocol.ts";
import { CALL_BY_NAME, TOOLS_TYPE_ID, type NamespaceSpec } from "./python-names.ts";
import { MEND_MODULES, mendModuleName } from "./python-source.ts";

const MiB = 1024 * 1024;
/** Type ids of Mend's module namespaces: far above any tool namespace id. */
const MODULE_TYPE_IDS: Record<string, number> = { random: 1_000_001, time: 1_000_002 };
/** Frames kept from a traceback (the innermost ones), and characters of its text. */
const MAX_FRAMES = 40;
const MAX_TRACEBACK_CHARS = 8000;
/** Builtins Monty leaves to the host: code-mode has none of them. */
const UNAVAILABLE = new Set([
  "__import__",
  "breakpoint",
  "compile",
  "dir",
  "eval",
  "exec",
  "globals",
  "help",
  "input",
  "locals",
  "memoryview",
  "vars",
]);

const port = parentPort;
if (port === null) throw new Error("monty/monty-thread.ts must run in a worker thread");
const send = (message: ChildToHost): void => port.postMessage(message);

type Progress = MontySnapshot | MontyNameLookup | MontyComplete;

interface Exec {
  id: number;
  setup: GuestSetup;
  guest: GuestState;
  spaces: Map<number, NamespaceSpec>;
  lines: string[];
  paused?: MontySnapshot;
}

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

function dataclass(spec: NamespaceSpec, spaces: Map<number, NamespaceSpec>): object {
  const fields: Record<string, object> = {};
  for (const [attr, id] of Object.entries(spec.fields)) fields[attr] = dataclass(spaces.get(id)!, spaces);
  return {
    __monty_type__: "Dataclass",
    name: spec.name,
    typeId: BigInt(spec.typeId),
    fieldNames: Object.keys(fields),
    fields,
    frozen: true,
  };
}

function namedFunction(name: string): () => void {
  const fn = (): void => {};
  Object.defineProperty(fn, "name", { value: name });
  return fn;
}

/** The guest's global inputs: `tools` and the Mend modules the script imports. */
function inputs(exec: Exec): Record<string, unknown> {
  const values: Record<string, unknown> = { tools: dataclass(exec.spaces.get(TOOLS_TYPE_ID)!, exec.spaces) };
  for (const module of exec.setup.uses) {
    values[mendModuleName(module)] = {
      __monty_type__: "Dataclass",
      name: module,
      typeId: BigInt(MODULE_TYPE_IDS[module]!),
      fieldNames: [],
      fields: {},
      frozen: true,
    };
    for (const fn of MEND_MODULES[module] ?? [])
      values[mendModuleName(module, fn)] = namedFunction(`${module}.${fn}`);
  }
  return values;
}

const frameOf = (f: {
  line: number;
  column: number;
  functionName?: string;
  sourceLine?: string;
}): GuestFrame => ({
  line: f.line,
  column: f.column,
  ...(f.functionName !== undefined ? { functionName: f.functionName } : {}),
  ...(f.sourceLine !== undefined ? { sourceLine: f.sourceLine.slice(0, 200) } : {}),
});

const clip = (text: string): string =>
  text.length <= MAX_TRACEBACK_CHARS
    ? text
    : `${text.slice(0, MAX_TRACEBACK_CHARS / 2)}\n  ...\n${text.slice(-MAX_TRACEBACK_CHARS / 2)}`;

/** Where a SyntaxError points: its display has `line N`, the source line and a `~` marker line. */
function syntaxLocation(display: string): { line?: number; column?: number } {
  const m = /File "[^"]*", line (\d+)\n {4}.*\n {4}( *)~/.exec(display);
  if (m !== null) return { line: Number(m[1]), column: m[2]!.length + 1 };
  const l = /File "[^"]*", line (\d+)/.exec(display);
  return l === null ? {} : { line: Number(l[1]) };
}

/** The native exception renders a traceback for syntax errors too; the wrapper's type omits that format. */
const displayTraceback = (error: MontySyntaxError): string =>
  (error as unknown as { display(format: string): string }).display("traceback");

function errorOf(error: unknown, parsing: boolean): GuestError {
  if (error instanceof MontySyntaxError) {
    return { kind: "syntax", message: error.exception.message, ...syntaxLocation(displayTraceback(error)) };
  }
  if (error instanceof MontyRuntimeError) {
    const { typeName, message } = error.exception;
    const frames = error.traceback().map(frameOf);
    if (parsing && typeName === "NotImplementedError") {
      const first = frames[0];
      return {
        kind: "unsupported",
        message,
        ...(first !== undefined ? { line: first.line, column: first.column } : {}),
      };
    }
    return {
      kind: "exception",
      type: typeName,
      message,
      frames: frames.slice(-MAX_FRAMES),
      traceback: clip(error.display("traceback")),
    };
  }
  return {
    kind: "host",
    message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
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

/** Values are read only above Monty's recursion limit (deeper ones it replaces by "<deeply nested>"). */
const depthOf = (exec: Exec): number => Math.min(MAX_VALUE_DEPTH, exec.setup.limits.maxRecursionDepth - 1);

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

const isDataclass = (v: unknown): v is { typeId: bigint; name: string } =>
  typeof v === "object" &&
  v !== null &&
  (v as { __monty_type__?: unknown }).__monty_type__ === "Dataclass" &&
  typeof (v as { typeId?: unknown }).typeId === "bigint";

type Step =
  | { kind: "resume"; result: ModuleResult }
  | { kind: "call"; tool: string; argsJson: string }
  | { kind: "raise"; type: string; message: string };

/** What a paused external call is: a tool call, a Mend module function, or a name the guest lacks. */
function classify(exec: Exec, snapshot: MontySnapshot): Step {
  const fn = snapshot.functionName;
  const args = snapshot.args;
  const kwargs = snapshot.kwargs as Record<string, unknown>;
  const self = args[0];
  const context = { seed: exec.setup.seed, clockMs: exec.setup.clockMs };
  if (isDataclass(self)) {
    const id = Number(self.typeId);
    const module = Object.keys(MODULE_TYPE_IDS).find((m) => MODULE_TYPE_IDS[m] === id);
    if (module !== undefined && self.name === module) {
      return {
        kind: "resume",
        result: callModule(module, fn, args.slice(1), kwargs, exec.guest.modules, context),
      };
    }
    const space = exec.spaces.get(id);
    if (space !== undefined && self.name === space.name)
      return toolCall(exec, space, fn, args.slice(1), kwargs);
  }
  const dotted = /^(random|time)\.(\w+)$/.exec(fn);
  if (dotted !== null && exec.setup.uses.includes(dotted[1]!)) {
    return {
      kind: "resume",
      result: callModule(dotted[1]!, dotted[2]!, args, kwargs, exec.guest.modules, context),
    };
  }
  return {
    kind: "raise",
    type: "NameError",
    message: `name '${fn}' is not defined${UNAVAILABLE.has(fn) ? " (not available in code-mode)" : ""}`,
  };
}

function toolCall(
  exec: Exec,
  space: NamespaceSpec,
  fn: string,
  positional: unknown[],
  kwargs: Record<string, unknown>,
): Step {
  let tool = space.methods[fn];
  let spelled = `tools.${space.prefix === "" ? "" : `${space.prefix}.`}${fn}`;
  if (tool === undefined && space.typeId === TOOLS_TYPE_ID && fn === CALL_BY_NAME && exec.setup.callByName) {
    const name = positional[0];
    if (typeof name !== "string") {
      return { kind: "raise", type: "TypeError", message: "tools.call() expects the tool's name first" };
    }
    tool = name;
    spelled = `tools.call(${JSON.stringify(name)})`;
    positional = positional.slice(1);
  }
  tool ??= space.prefix === "" ? fn : `${space.prefix}.${fn}`;
  let value: unknown;
  if (positional.length === 0) value = new Map(Object.entries(kwargs));
  else if (positional.length === 1 && positional[0] instanceof Map && Object.keys(kwargs).length === 0) {
    value = positional[0];
  } else {
    return {
      kind: "raise",
      type: "TypeError",
      message: `${spelled}() takes the tool's arguments as keywords, e.g. ${spelled}(name=value), or one dict`,
    };
  }
  const json = toJsonText(value, Math.max(exec.setup.limits.maxResultBytes, 1024 * 1024), depthOf(exec));
  if (!json.ok)
    return {
      kind: "raise",
      type: "TypeError",
      message: describeProblem(json, `An argument of ${spelled}()`),
    };
  return { kind: "call", tool, argsJson: json.json };
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
      const step = classify(exec, progress);
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
