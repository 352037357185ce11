// Python stubs (.pyi) of the guest's `tools` object, generated from the tools' JSON Schemas, for the LLM.
import type { ToolBinding } from "./engine.ts";
import { buildNamespaces, CALL_BY_NAME, TOOLS_TYPE_ID } from "./monty/python-names.ts";

const KEYWORDS = new Set(
  (
    "False None True and as assert async await break class continue def del elif else except finally for " +
    "from global if import in is lambda nonlocal not or pass raise return try while with yield"
  ).split(" "),
);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const isParam = (name: string): boolean => IDENTIFIER.test(name) && !KEYWORDS.has(name);

const pascal = (text: string): string =>
  text
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== "")
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("") || "X";

/** A Python string literal (JSON's escapes are Python's). */
const pyString = (text: string): string => JSON.stringify(text);

function docstring(lines: string[], indent: string): string {
  const text = lines.join("\n").replace(/\\/g, "\\\\").replace(/"""/g, '\\"\\"\\"').trim();
  if (text === "") return "";
  const body = text.split("\n");
  if (body.length === 1 && !body[0]!.endsWith('"')) return `${indent}"""${body[0]}"""\n`;
  return `${indent}"""\n${body.map((line) => `${indent}${line}`.trimEnd()).join("\n")}\n${indent}"""\n`;
}

const union = (types: string[]): string => {
  const unique = [...new Set(types)];
  if (unique.includes("Any")) return "Any";
  return unique.length === 0 ? "Any" : unique.join(" | ");
};

const literal = (value: unknown): string | undefined => {
  if (value === null) return "None";
  if (typeof value === "string") return pyString(value);
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number" && Number.isInteger(value)) return String(value);
  return undefined;
};

/** Collects the TypedDict classes a stub needs, named once each (deterministic order). */
class TypedDicts {
  readonly #classes: string[] = [];
  readonly #names = new Set<string>(["Any", "Literal", "NotRequired", "TypedDict"]);

  name(base: string): string {
    let name = base;
    for (let i = 2; this.#names.has(name); i++) name = `${base}${i}`;
    this.#names.add(name);
    return name;
  }

  add(text: string): void {
    this.#classes.push(text);
  }

  render(): string {
    return this.#classes.join("\n");
  }
}

/**
 * The Python type of a JSON Schema: string/integer/number/boolean/null, array/items (list[...]),
 * enum and const (Literal[...] where Python allows it), anyOf/oneOf and type arrays (unions), objects
 * with properties (a TypedDict named `name`, NotRequired for optional keys); anything else is Any.
 *
 * @example schemaToPy({ type: "array", items: { type: "string" } }, "X", dicts) // "list[str]"
 */
function schemaToPy(schema: unknown, name: string, dicts: TypedDicts): string {
  if (schema === true || schema === undefined || schema === null) return "Any";
  if (schema === false || typeof schema !== "object" || Array.isArray(schema)) return "Any";
  const s = schema as Record<string, unknown>;
  if ("const" in s) return literal(s.const) !== undefined ? `Literal[${literal(s.const)}]` : "Any";
  if (Array.isArray(s.enum)) {
    const values = s.enum.map(literal);
    return values.every((v) => v !== undefined) && values.length > 0
      ? `Literal[${values.join(", ")}]`
      : "Any";
  }
  for (const k of ["anyOf", "oneOf"] as const) {
    const list = s[k];
    if (Array.isArray(list) && list.length > 0) {
      return union(list.map((item, i) => schemaToPy(item, `${name}${i + 1}`, dicts)));
    }
  }
  if (Array.isArray(s.type)) return union(s.type.map((t) => schemaToPy({ ...s, type: t }, name, dicts)));
  const type = typeof s.type === "string" ? s.type : s.properties !== undefined ? "object" : undefined;
  switch (type) {
    case "string":
      return "str";
    case "integer":
      return "int";
    case "number":
      return "float";
    case "boolean":
      return "bool";
    case "null":
      return "None";
    case "array":
      return Array.isArray(s.items) ? "list[Any]" : `list[${schemaToPy(s.items, `${name}Item`, dicts)}]`;
    case "object":
      return objectToPy(s, name, dicts);
    default:
      return "Any";
  }
}

function objectToPy(s: Record<string, unknown>, name: string, dicts: TypedDicts): string {
  const props = (s.properties ?? {}) as Record<string, unknown>;
  const keys = Object.keys(props);
  if (keys.length === 0) {
    const extra = s.additionalProperties;
    return extra === undefined || extra === true || extra === false
      ? "dict[str, Any]"
      : `dict[str, ${schemaToPy(extra, `${name}Value`, dicts)}]`;
  }
  const required = new Set(Array.isArray(s.required) ? s.required : []);
  const className = dicts.name(name);
  const entries = keys.map((key) => {
    const sub = props[key];
    const t = schemaToPy(sub, `${className}${pascal(key)}`, dicts);
    return { key, type: required.has(key) ? t : `NotRequired[${t}]`, description: description(sub) };
  });
  const doc = description(s);
  if (keys.every(isParam)) {
    const body = entries.map(
      (e) => `    ${e.key}: ${e.type}${e.description ? `  # ${oneLine(e.description)}` : ""}`,
    );
    dicts.add(`class ${className}(TypedDict):\n${doc ? docstring([doc], "    ") : ""}${body.join("\n")}\n`);
  } else {
    const fields = entries.map((e) => `    ${pyString(e.key)}: ${e.type},`).join("\n");
    dicts.add(`${className} = TypedDict(${pyString(className)}, {\n${fields}\n})\n`);
  }
  return className;
}

const description = (schema: unknown): string | undefined => {
  const d =
    schema !== null && typeof schema === "object"
      ? (schema as { description?: unknown }).description
      : undefined;
  return typeof d === "string" && d.trim() !== "" ? d.trim() : undefined;
};

const oneLine = (text: string): string => text.replace(/\s+/g, " ").slice(0, 200);

/** One tool's method: keyword-only parameters from its input schema, its result type, its docstring. */
function method(tool: ToolBinding, pyName: string, dicts: TypedDicts): string {
  const base = pascal(tool.name);
  const input = tool.inputSchema as Record<string, unknown>;
  const props = (input.properties ?? {}) as Record<string, unknown>;
  const required = new Set(Array.isArray(input.required) ? input.required : []);
  const params: string[] = [];
  const argDocs: string[] = [];
  const unnamed: string[] = [];
  for (const [key, sub] of Object.entries(props)) {
    const type = schemaToPy(sub, `${base}${pascal(key)}`, dicts);
    const d = description(sub);
    if (!isParam(key)) {
      unnamed.push(`${pyString(key)} (${type})`);
      continue;
    }
    params.push(required.has(key) ? `${key}: ${type}` : `${key}: ${type} = ...`);
    argDocs.push(
      `    ${key}: ${d !== undefined ? oneLine(d) : type}${required.has(key) ? "" : " (optional)"}`,
    );
  }
  const extra = input.additionalProperties;
  const open = extra === true || (extra !== null && typeof extra === "object");
  const rest = unnamed.length > 0 || open ? ", **kwargs: Any" : "";
  const result =
    tool.outputSchema !== undefined ? schemaToPy(tool.outputSchema, `${base}Result`, dicts) : "Any";
  const doc: string[] = [];
  if (tool.description !== undefined && tool.description.trim() !== "") doc.push(tool.description.trim());
  if (pyName !== tool.name.split(".").at(-1)) doc.push(`(The tool "${tool.name}".)`);
  if (argDocs.length > 0) doc.push("", "Args:", ...argDocs);
  if (unnamed.length > 0)
    doc.push("", `Arguments that are not Python names go through **{...}: ${unnamed.join(", ")}.`);
  const signature = `self${params.length > 0 ? `, *, ${params.join(", ")}` : ""}${rest}`;
  return `    def ${pyName}(${signature}) -> ${result}:\n${docstring(doc, "        ")}        ...\n`;
}

const HEADER = `# The tools this code-mode script may call (Python on Monty, a subset of Python 3).
# Call a tool with keyword arguments equal to its JSON arguments: r = tools.echo(text="hi").
# Dotted tool names are attributes (github.search -> tools.github.search); a name segment that is a
# Python keyword gets a trailing underscore (kv.import -> tools.kv.import_).
# A call returns the tool's JSON result directly (dict, list, str, int, float, bool or None): do not
# await it. Calls run one after another; asyncio.gather over async functions works but is sequential.
# A failed call raises RuntimeError (tool_failed), ValueError (tool_input_invalid) or PermissionError
# (tool_not_allowed); str(e) starts with the failure kind. Uncaught, the execution fails with it.
# The script's result is the value of its last expression (JSON). print() output becomes the logs.
# Modules: asyncio, datetime, json, math, re, sys, typing, and random (seeded) and time (virtual:
# time.sleep does not wait). No classes, match, yield or del; no files, network or environment.
`;

/**
 * The `.pyi` text declaring the guest's `tools` object for Python scripts: one class per namespace,
 * one method per tool (docstring from its description, keyword-only parameters typed from its input
 * schema, a TypedDict result when it declares an output schema), and `tools.call(name, **kwargs)`.
 * Served at `GET /v1/tools.pyi`; valid Python (checked by parsing it with python3).
 *
 * @example
 * generateToolsPyi([{ name: "echo", description: "Echoes text.", inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } }])
 * // "...class _Tools:\n    def echo(self, *, text: str) -> Any:\n        \"\"\"Echoes text. ...\"\"\"\n        ...\n..."
 */
export function generateToolsPyi(tools: ToolBinding[]): string {
  const spaces = buildNamespaces(tools);
  const byName = new Map(tools.map((t) => [t.name, t]));
  const dicts = new TypedDicts();
  const classNames = new Map<number, string>();
  for (const space of spaces.namespaces) {
    classNames.set(
      space.typeId,
      dicts.name(space.typeId === TOOLS_TYPE_ID ? "_Tools" : `_Tools${pascal(space.prefix)}`),
    );
  }
  const classes: string[] = [];
  // Children before parents, so every annotation names a class defined above it.
  for (const space of [...spaces.namespaces].reverse()) {
    const lines: string[] = [];
    for (const [attr, id] of Object.entries(space.fields))
      lines.push(`    ${attr}: ${classNames.get(id)!}\n`);
    for (const [pyName, toolName] of Object.entries(space.methods))
      lines.push(method(byName.get(toolName)!, pyName, dicts));
    if (space.typeId === TOOLS_TYPE_ID && spaces.callByName) {
      const unreachable =
        spaces.unreachable.length > 0 ? ` Needed for: ${spaces.unreachable.join(", ")}.` : "";
      lines.push(
        `    def ${CALL_BY_NAME}(self, name: str, /, **kwargs: Any) -> Any:\n${docstring([`Calls a tool of this script by its exact name: tools.call("github.search", q="bug").${unreachable}`], "        ")}        ...\n`,
      );
    }
    if (space.typeId === TOOLS_TYPE_ID && !spaces.callByName && spaces.unreachable.length > 0) {
      lines.push(
        `    # Not reachable by attribute (their spelling collides): ${spaces.unreachable.join(", ")}.\n`,
      );
    }
    if (lines.length === 0) lines.push("    pass\n");
    const title =
      space.typeId === TOOLS_TYPE_ID ? "The tools of this script." : `Tools under "${space.prefix}.".`;
    classes.push(`class ${classNames.get(space.typeId)!}:\n${docstring([title], "    ")}${lines.join("")}`);
  }
  const typed = dicts.render();
  return [
    HEADER,
    "from typing import Any, Literal, NotRequired, TypedDict\n",
    ...(typed !== "" ? [typed] : []),
    ...classes,
    "tools: _Tools\n",
  ].join("\n");
}
