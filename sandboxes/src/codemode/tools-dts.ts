// TypeScript declarations of the guest's `tools` object, generated from the tools' JSON Schemas, for the LLM.
import type { ToolBinding } from "./engine.ts";

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const key = (name: string): string => (IDENTIFIER.test(name) ? name : JSON.stringify(name));

function jsdoc(text: string | undefined, indent: string): string {
  if (text === undefined || text.trim() === "") return "";
  const lines = text.replace(/\*\//g, "*\\/").trim().split("\n");
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((line) => `${indent} * ${line}`.trimEnd()).join("\n")}\n${indent} */\n`;
}

function literal(value: unknown): string {
  if (
    value === null ||
    typeof value === "string" ||
    typeof value === "number" ||
    typeof value === "boolean"
  ) {
    return JSON.stringify(value);
  }
  return "unknown";
}

const union = (types: string[]): string => {
  const unique = [...new Set(types)];
  return unique.length === 0
    ? "never"
    : unique.length === 1
      ? unique[0]!
      : unique.map((t) => `(${t})`).join(" | ");
};

/**
 * The TypeScript type of a JSON Schema: object/properties/required/additionalProperties, array/items,
 * enum, const, anyOf/oneOf (unions), allOf (intersections), string/number/integer/boolean/null and
 * type arrays; anything else is `unknown`. Property descriptions become JSDoc.
 *
 * @example schemaToTs({ type: "object", properties: { q: { type: "string" } }, required: ["q"] }) // "{\n  q: string;\n}"
 */
export function schemaToTs(schema: unknown, indent = ""): string {
  if (schema === true || schema === undefined) return "unknown";
  if (schema === false) return "never";
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) return "unknown";
  const s = schema as Record<string, unknown>;
  if ("const" in s) return literal(s.const);
  if (Array.isArray(s.enum)) return union(s.enum.map(literal));
  for (const k of ["anyOf", "oneOf"] as const) {
    const list = s[k];
    if (Array.isArray(list) && list.length > 0) return union(list.map((item) => schemaToTs(item, indent)));
  }
  if (Array.isArray(s.allOf) && s.allOf.length > 0) {
    return s.allOf.map((item) => `(${schemaToTs(item, indent)})`).join(" & ");
  }
  if (Array.isArray(s.type)) return union(s.type.map((t) => schemaToTs({ ...s, type: t }, indent)));
  const type = typeof s.type === "string" ? s.type : s.properties !== undefined ? "object" : undefined;
  switch (type) {
    case "string":
      return "string";
    case "number":
    case "integer":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array": {
      const items = s.items;
      if (Array.isArray(items)) return `[${items.map((item) => schemaToTs(item, indent)).join(", ")}]`;
      const item = schemaToTs(items, indent);
      return /^[A-Za-z"0-9]+$/.test(item) ? `${item}[]` : `Array<${item}>`;
    }
    case "object":
      return objectToTs(s, indent);
    default:
      return "unknown";
  }
}

function objectToTs(s: Record<string, unknown>, indent: string): string {
  const props = (s.properties ?? {}) as Record<string, unknown>;
  const required = new Set(Array.isArray(s.required) ? s.required : []);
  const inner = `${indent}  `;
  const lines: string[] = [];
  for (const [name, sub] of Object.entries(props)) {
    const description =
      sub !== null && typeof sub === "object" ? (sub as { description?: unknown }).description : undefined;
    lines.push(
      `${jsdoc(typeof description === "string" ? description : undefined, inner)}${inner}${key(name)}${required.has(name) ? "" : "?"}: ${schemaToTs(sub, inner)};`,
    );
  }
  const extra = s.additionalProperties;
  if (extra !== undefined && extra !== false && (lines.length === 0 || extra !== true)) {
    lines.push(`${inner}[key: string]: ${extra === true ? "unknown" : schemaToTs(extra, inner)};`);
  } else if (extra === undefined && lines.length === 0) {
    lines.push(`${inner}[key: string]: unknown;`);
  }
  return `{\n${lines.join("\n")}\n${indent}}`;
}

interface NamespaceNode {
  tools: ToolBinding[];
  children: Map<string, NamespaceNode>;
}

function tree(tools: ToolBinding[]): NamespaceNode {
  const root: NamespaceNode = { tools: [], children: new Map() };
  for (const tool of [...tools].sort((a, b) => a.name.localeCompare(b.name))) {
    const parts = tool.name.split(".");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      let child = node.children.get(part);
      if (child === undefined) {
        child = { tools: [], children: new Map() };
        node.children.set(part, child);
      }
      node = child;
    }
    node.tools.push(tool);
  }
  return root;
}

function render(node: NamespaceNode, indent: string): string {
  const inner = `${indent}  `;
  const lines: string[] = [];
  for (const tool of node.tools) {
    const leaf = tool.name.split(".").at(-1)!;
    const input = schemaToTs(tool.inputSchema, inner);
    lines.push(`${jsdoc(tool.description, inner)}${inner}${key(leaf)}(args: ${input}): Promise<unknown>;`);
  }
  for (const [name, child] of node.children) lines.push(`${inner}${key(name)}: ${render(child, inner)};`);
  return `{\n${lines.join("\n")}\n${indent}}`;
}

/**
 * The `.d.ts` text declaring the guest's `tools` object: one method per tool (JSDoc from its
 * description, argument type from its input schema, returning `Promise<unknown>`), dotted names as
 * nested namespaces (`tools.github.search`). Served at `GET /v1/tools.d.ts`.
 *
 * @example
 * generateToolsDts([{ name: "echo", description: "Echoes text.", inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } }])
 * // "declare const tools: {\n  /** Echoes text. *\/\n  echo(args: {\n    text: string;\n  }): Promise<unknown>;\n};\n"
 */
export function generateToolsDts(tools: ToolBinding[]): string {
  const header =
    "// The tools this script may call. Each returns a promise of the tool's JSON result and rejects\n" +
    "// with an Error named ToolError (with `kind`, `tool` and `failure`) when the call fails.\n";
  return `${header}declare const tools: ${render(tree(tools), "")};\n`;
}
