// The global inputs a script starts with: `tools` as nested dataclasses, and the Mend modules it imports.
import type { Exec } from "./monty-exec.ts";
import { TOOLS_TYPE_ID, type NamespaceSpec } from "./python-names.ts";
import { MEND_MODULES, mendModuleName } from "./python-source.ts";

/** Type ids of Mend's module namespaces: far above any tool namespace id. */
export const MODULE_TYPE_IDS: Record<string, number> = { random: 1_000_001, time: 1_000_002 };

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

/**
 * The guest's global inputs: `tools` and the Mend modules the script imports.
 * @example const values = inputs(exec); new Monty(source, { scriptName: "script.py", inputs: Object.keys(values) })
 */
export function inputs(exec: Exec): Record<string, unknown> {
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
