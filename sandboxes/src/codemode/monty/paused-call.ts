// What a script paused at an external call asks for: a tool call, a Mend module function, or a missing name.
import type { MontySnapshot } from "@pydantic/monty";
import { callModule, type ModuleResult } from "./mend-modules.ts";
import { describeProblem, toJsonText } from "./monty-values.ts";
import { CALL_BY_NAME, TOOLS_TYPE_ID, type NamespaceSpec } from "./python-names.ts";
import { depthOf, type Exec } from "./monty-exec.ts";
import { MODULE_TYPE_IDS } from "./guest-inputs.ts";

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

/** The next move of a paused script: resume it with a value, hand a tool call to the host, or raise. */
export type Step =
  | { kind: "resume"; result: ModuleResult }
  | { kind: "call"; tool: string; argsJson: string }
  | { kind: "raise"; type: string; message: string };

const isDataclass = (v: unknown): v is { typeId: bigint; name: string } =>
  typeof v === "object" &&
  v !== null &&
  (v as { __monty_type__?: unknown }).__monty_type__ === "Dataclass" &&
  typeof (v as { typeId?: unknown }).typeId === "bigint";

/**
 * What a paused external call is: a tool call, a Mend module function, or a name the guest lacks.
 * @example classifyCall(exec, snapshot) // { kind: "call", tool: "kv.get", argsJson: '{"key":"a"}' }
 */
export function classifyCall(exec: Exec, snapshot: MontySnapshot): Step {
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
