// Parses and validates one policy file's text with zod, with the file and line of what is wrong.
import { isNode, isPair, LineCounter, parseDocument, type Document } from "yaml";
import { PolicyError } from "./policy-error.ts";
import { PolicyFileSchema, type PolicyFile } from "./policy-schema.ts";

/** Issues shown per file; the rest are counted. */
const MAX_ISSUES_SHOWN = 3;

/** The 1-based line of the YAML node at `path` (or of its nearest existing ancestor; the key itself for `key`). */
function lineAt(doc: Document, lc: LineCounter, path: PropertyKey[], key?: string): number | undefined {
  if (key !== undefined) {
    const parent = path.length ? doc.getIn(path, true) : doc.contents;
    if (isNode(parent) && "items" in parent && Array.isArray(parent.items)) {
      for (const item of parent.items as unknown[]) {
        if (
          isPair(item) &&
          isNode(item.key) &&
          String((item.key as { value?: unknown }).value) === key &&
          item.key.range
        ) {
          return lc.linePos(item.key.range[0]).line;
        }
      }
    }
  }
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
  }
  return undefined;
}

/**
 * Parses and validates one policy file's text (not its `extends`, which needs the other files).
 * @example parsePolicyFile("research.yaml", "name: research\nextends: default\n")
 */
export function parsePolicyFile(file: string, text: string): PolicyFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.pos[0] !== undefined ? `:${lc.linePos(yamlError.pos[0]).line}` : "";
    throw new PolicyError(`${file}${line}: not valid YAML: ${yamlError.message.split("\n")[0]}`);
  }
  const r = PolicyFileSchema.safeParse(doc.toJS() ?? {});
  if (!r.success) {
    const shown = r.error.issues.slice(0, MAX_ISSUES_SHOWN).map((i) => {
      const key = i.code === "unrecognized_keys" ? i.keys[0] : undefined;
      const line = lineAt(doc, lc, i.path, key);
      const where = i.path.length ? i.path.join(".") : "(root)";
      return `${file}${line ? `:${line}` : ""}: at ${where}: ${i.message}`;
    });
    const more = r.error.issues.length - shown.length;
    throw new PolicyError(shown.join("; ") + (more > 0 ? ` (and ${more} more)` : ""));
  }
  const expected = file.replace(/^.*\//, "").replace(/\.ya?ml$/, "");
  if (r.data.name !== expected) {
    const line = lineAt(doc, lc, ["name"]);
    throw new PolicyError(
      `${file}${line ? `:${line}` : ""}: at name: expected "${expected}" (the file's name), got "${r.data.name}"`,
    );
  }
  return r.data;
}
