// Reads policies/*.yaml, validates each with zod, resolves `extends`, and versions the result.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { isNode, isPair, LineCounter, parseDocument, type Document } from "yaml";
import { cachedDerivation } from "../lib/compile-cache.ts";
import { BASE_POLICY } from "./builtin-policy.ts";
import { PolicyFileSchema, type Policy, type PolicyFile } from "./policy-schema.ts";

/** A policy file that cannot be used; the message names the file (and line), the path and what was expected. */
export class PolicyError extends Error {
  override name = "PolicyError";
}

/** Issues shown per file; the rest are counted. */
const MAX_ISSUES_SHOWN = 3;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge where the override's arrays replace the base's. */
function merge<T>(base: T, override: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(override))
    return (override === undefined ? base : override) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = k in out ? merge(out[k], v) : v;
  return out as T;
}

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

/** Checks that hold only once `extends` is applied: every default within its ceiling. */
function checkResolved(file: string, p: Policy): void {
  for (const section of ["codemode", "container"] as const) {
    const { defaults, max } = p[section] as { defaults: Record<string, number>; max: Record<string, number> };
    for (const [k, v] of Object.entries(defaults)) {
      const ceiling = max[k];
      if (ceiling !== undefined && v > ceiling) {
        throw new PolicyError(
          `${file}: at ${section}.defaults.${k}: expected at most ${ceiling} (${section}.max.${k}, after extends), got ${v}`,
        );
      }
    }
  }
}

/**
 * Resolves `extends` chains over BASE_POLICY; detects cycles and unknown parents.
 * `fileNames` maps a policy name to the file it came from, for messages.
 * @example resolvePolicies(new Map([["default", { name: "default" }]])).get("default")!.version
 */
export function resolvePolicies(
  files: Map<string, PolicyFile>,
  fileNames = new Map<string, string>(),
): Map<string, Policy> {
  const out = new Map<string, Policy>();
  const fileOf = (name: string) => fileNames.get(name) ?? `${name}.yaml`;
  const resolveOne = (name: string, chain: string[]): Policy => {
    const done = out.get(name);
    if (done) return done;
    const file = files.get(name);
    if (!file) throw new PolicyError(`policy "${name}" does not exist`);
    if (chain.includes(name)) {
      const from = chain[chain.length - 1]!;
      throw new PolicyError(
        `${fileOf(from)}: at extends: cycle ${[...chain.slice(chain.indexOf(name)), name].join(" → ")}`,
      );
    }
    if (file.extends !== undefined && !files.has(file.extends)) {
      throw new PolicyError(
        `${fileOf(name)}: at extends: expected one of ${[...files.keys()].sort().join(", ")}, got "${file.extends}"`,
      );
    }
    const parent =
      file.extends !== undefined
        ? resolveOne(file.extends, [...chain, name])
        : { ...BASE_POLICY, name: "", version: "" };
    const { extends: _e, name: _n, ...rest } = file;
    const merged = merge<Policy>(structuredClone(parent), rest);
    if (file.description === undefined) delete merged.description;
    merged.name = name;
    merged.version = "";
    merged.version = createHash("sha256").update(JSON.stringify(merged)).digest("hex").slice(0, 12);
    checkResolved(fileOf(name), merged);
    out.set(name, merged);
    return merged;
  };
  for (const name of [...files.keys()].sort()) resolveOne(name, []);
  return out;
}

/**
 * Loads and resolves every *.yaml / *.yml in a folder; a missing folder (or a folder without
 * default.yaml) yields the built-in `default`.
 * @example const policies = await loadPolicies("./policies"); policies.get("research")?.version
 */
export async function loadPolicies(dir: string): Promise<Map<string, Policy>> {
  const files = new Map<string, PolicyFile>();
  const fileNames = new Map<string, string>();
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  for (const f of names) {
    const text = await readFile(join(dir, f), "utf8");
    // The same file under the same build validates the same: its result is kept with the compile cache.
    const parsed = cachedDerivation("policy", `${f}\0${text}`, () => parsePolicyFile(f, text));
    const previous = fileNames.get(parsed.name);
    if (previous)
      throw new PolicyError(`${f}: at name: policy "${parsed.name}" is already defined by ${previous}`);
    files.set(parsed.name, parsed);
    fileNames.set(parsed.name, f);
  }
  if (!files.has("default")) {
    files.set("default", { name: "default" });
    fileNames.set("default", "default (built-in)");
  }
  return resolvePolicies(files, fileNames);
}
