// Reads policies/*.yaml, validates each with zod, resolves `extends`, and versions the result.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { cachedDerivation } from "../lib/compile-cache.ts";
import { BASE_POLICY } from "./builtin-policy.ts";
import type { Policy, PolicyFile } from "./policy-schema.ts";
import { PolicyError } from "./policy-error.ts";
import type * as PolicyFileModule from "./policy-file.ts";

export { PolicyError };

/**
 * The parser of one file (yaml and the zod schema of policy files: ~260 KB of module code and ~50 schema
 * objects built at import) loads only when a file's parse is not kept beside the compile cache.
 */
let parser: Promise<typeof PolicyFileModule> | undefined;
const loadParser = () => (parser ??= import("./policy-file.ts"));

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
    const parsed = await cachedDerivation("policy", `${f}\0${text}`, async () =>
      (await loadParser()).parsePolicyFile(f, text),
    );
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
