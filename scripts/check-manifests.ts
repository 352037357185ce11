// Fails when a workspace imports a package its own package.json does not declare, or when a manifest
// points (exports, bin, main, types) at a file that does not exist.
// Why: npm hoists every workspace's dependencies to the root, so a missing declaration works here and
// breaks the day a workspace is installed or packed on its own.
import { builtinModules } from "node:module";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

interface Manifest {
  name?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  exports?: unknown;
  bin?: string | Record<string, string>;
  main?: string;
  types?: string;
  workspaces?: string[];
}

const read = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;

const SPEC_RE =
  /(?:^|[\s;])(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?["']([^"'./$][^"'$]*)["']|import\(\s*["']([^"'./$][^"'$]*)["']\s*\)/g;

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|tsx|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
export function packageOf(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Every bare specifier of a file, with whether the import is type-only. */
export function bareImports(src: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  for (const m of src.matchAll(SPEC_RE)) {
    const spec = m[2] ?? m[3]!;
    if (builtins.has(spec) || spec.startsWith("node:")) continue;
    out.push({ spec, typeOnly: m[1] !== undefined });
  }
  return out;
}

/** Manifest targets that do not exist (dist/ outputs are checked through their sources in src/). */
export function missingTargets(dir: string, m: Manifest): string[] {
  const targets: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === "string") targets.push(v);
    else if (v && typeof v === "object") for (const x of Object.values(v)) collect(x);
  };
  collect(m.exports);
  collect(m.bin);
  if (m.main) targets.push(m.main);
  if (m.types) targets.push(m.types);
  return targets.filter((t) => {
    const source = t.replace(/^\.\/dist\//, "./src/").replace(/\.d\.ts$|\.js$/, ".ts");
    return !existsSync(join(dir, t)) && !existsSync(join(dir, source));
  });
}

function main(): number {
  const root = read(ROOT);
  const workspaces = (root.workspaces ?? []).map((w) => join(ROOT, w));
  const manifests = new Map(workspaces.map((w) => [w, read(w)]));
  const workspaceNames = new Set([...manifests.values()].map((m) => m.name!));
  const everyDependency = new Set([...manifests.values()].flatMap((m) => Object.keys(m.dependencies ?? {})));
  const problems: string[] = [];
  const declaredIn = (m: Manifest, test: boolean): Set<string> =>
    new Set([
      ...Object.keys(m.dependencies ?? {}),
      ...Object.keys(m.peerDependencies ?? {}),
      ...Object.keys(m.optionalDependencies ?? {}),
      ...(test ? [...Object.keys(m.devDependencies ?? {}), ...Object.keys(root.devDependencies ?? {})] : []),
    ]);
  const check = (file: string, allowed: Set<string>, where: string): void => {
    for (const { spec, typeOnly } of bareImports(readFileSync(file, "utf8"))) {
      const pkg = packageOf(spec);
      const types = `@types/${pkg.replace(/^@/, "").replace("/", "__")}`;
      if (allowed.has(pkg) || (typeOnly && allowed.has(types))) continue;
      problems.push(`${relative(ROOT, file)} imports "${spec}", which ${where} does not declare`);
    }
  };
  for (const [dir, m] of manifests) {
    for (const t of missingTargets(dir, m))
      problems.push(`${relative(ROOT, dir)}/package.json: ${t} does not exist`);
    for (const file of walk(join(dir, "src"))) {
      const test = /\.test\.tsx?$/.test(file) || file.includes("/build/");
      check(
        file,
        declaredIn(m, test),
        `${relative(ROOT, dir)}/package.json${test ? " (or the root's devDependencies)" : ""}`,
      );
    }
  }
  // The root's own code (tests, benchmarks, scripts) runs against the installed workspace packages.
  const rootAllowed = new Set([...declaredIn(root, true), ...workspaceNames, ...everyDependency]);
  for (const dir of ["test", "scripts"])
    for (const file of walk(join(ROOT, dir))) check(file, rootAllowed, "the root package.json");
  for (const p of problems) console.error(`check-manifests: ${p}`);
  if (problems.length === 0)
    console.log(`check-manifests: ${manifests.size} workspaces and the root are consistent`);
  return problems.length === 0 ? 0 : 1;
}

if (import.meta.main) process.exit(main());
