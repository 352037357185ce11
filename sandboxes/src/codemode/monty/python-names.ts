// The Python spelling of tool names: namespaces as attributes of `tools`, keywords suffixed with "_".
import type { ToolBinding } from "../engine.ts";

/** Python's hard keywords (soft keywords such as `match` or `type` are valid attribute names). */
const KEYWORDS = new Set(
  (
    "False None True and as assert async await break class continue def del elif else except finally for " +
    "from global if import in is lambda nonlocal not or pass raise return try while with yield"
  ).split(" "),
);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The Python attribute for one segment of a dotted tool name: the segment itself, with `_` appended
 * when it is a Python keyword (`kv.import` → `tools.kv.import_`) and non-identifier characters
 * replaced by `_`. Tool names are `[a-z][a-z0-9_]*` segments, so only keywords change in practice.
 *
 * @example pythonSegment("import") // "import_"
 */
export function pythonSegment(segment: string): string {
  const word = IDENTIFIER.test(segment)
    ? segment
    : segment.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(\d)/, "_$1");
  return KEYWORDS.has(word) ? `${word}_` : word;
}

/** The escape hatch on `tools` that calls a tool by its exact name: `tools.call("kv.get", key="a")`. */
export const CALL_BY_NAME = "call";

/** One namespace object of the guest (`tools`, `tools.github`, …) as the child process builds it. */
export interface NamespaceSpec {
  /** Dataclass type id (unique per execution; the guest cannot forge one). */
  typeId: number;
  /** Dotted tool-name prefix of this namespace ("" for the root). */
  prefix: string;
  /** The Python name shown by `repr` (the last segment, or "tools"). */
  name: string;
  /** Sub-namespaces: Python attribute → type id. */
  fields: Record<string, number>;
  /** Tools of this namespace: Python method name → tool name. */
  methods: Record<string, string>;
}

/** The namespaces of one execution, root (`tools`, type id 1) first. */
export interface GuestNamespaces {
  namespaces: NamespaceSpec[];
  /** Whether `tools.call(name, **kwargs)` is available (no tool of the root is spelled `call`). */
  callByName: boolean;
  /** Tools that no attribute path reaches (a spelling collision): reachable through `tools.call`. */
  unreachable: string[];
}

/** First type id of the tool namespaces; Mend's own modules (random, time) use ids below it. */
export const TOOLS_TYPE_ID = 1;

/**
 * Builds the namespace tree of the tools bound to one execution: each dotted segment but the last
 * becomes a namespace attribute, the last a method. A tool whose spelling collides with a namespace
 * or another tool stays reachable through `tools.call("exact.name", ...)`.
 *
 * @example buildNamespaces([{ name: "kv.get", inputSchema: {} }]).namespaces[1] // { typeId: 2, prefix: "kv", name: "kv", fields: {}, methods: { get: "kv.get" } }
 */
export function buildNamespaces(tools: readonly Pick<ToolBinding, "name">[]): GuestNamespaces {
  const root: NamespaceSpec = { typeId: TOOLS_TYPE_ID, prefix: "", name: "tools", fields: {}, methods: {} };
  const all: NamespaceSpec[] = [root];
  const unreachable: string[] = [];
  const names = [...new Set(tools.map((t) => t.name))].sort();
  // Namespaces first, so that a tool and a namespace of the same spelling resolve to the namespace.
  for (const name of names) {
    const parts = name.split(".");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const attr = pythonSegment(part);
      let id = node.fields[attr];
      if (id === undefined) {
        id = TOOLS_TYPE_ID + all.length;
        const prefix = node.prefix === "" ? part : `${node.prefix}.${part}`;
        all.push({ typeId: id, prefix, name: attr, fields: {}, methods: {} });
        node.fields[attr] = id;
      }
      node = all[id - TOOLS_TYPE_ID]!;
    }
  }
  for (const name of names) {
    const parts = name.split(".");
    let node = root;
    for (const part of parts.slice(0, -1)) node = all[node.fields[pythonSegment(part)]! - TOOLS_TYPE_ID]!;
    const method = pythonSegment(parts.at(-1)!);
    if (node.fields[method] !== undefined || node.methods[method] !== undefined) unreachable.push(name);
    else node.methods[method] = name;
  }
  const callByName = root.methods[CALL_BY_NAME] === undefined && root.fields[CALL_BY_NAME] === undefined;
  return { namespaces: all, callByName, unreachable };
}

/**
 * How a tool is spelled in Python code, or undefined when only `tools.call` reaches it.
 * @example pythonSpelling("github.search") // "tools.github.search"
 */
export function pythonSpelling(name: string, spaces: GuestNamespaces): string | undefined {
  if (spaces.unreachable.includes(name)) return undefined;
  return `tools.${name.split(".").map(pythonSegment).join(".")}`;
}
