// The import graph of the workspaces: arrows, arrows that run up the service's layers, and cycles.
// Why: the lint forbids upward imports one rule at a time; this script proves the whole graph is acyclic
// and prints the numbers the architecture notes quote. `--check` exits 1 on a cycle or an upward arrow.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const WORKSPACES = ["wire/src", "sandboxes/src", "service/src", "client/src"];

/**
 * The service's layers, top first: a file may import its own layer or any layer below it.
 * `lib`, `config` and `log` are leaves every layer may use; the packages sit below everything.
 */
export const SERVICE_LAYERS: readonly (readonly string[])[] = [
  ["cli"],
  ["server.ts"],
  ["edge"],
  ["services"],
  ["loop"],
  ["engine"],
  ["tools"],
  ["core", "auth"],
  ["store", "policy", "llm"],
  ["config", "log", "lib", "version.ts"],
];

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === "node_modules" || name === "dist") continue;
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

/** Layer index of a service file (0 = top), or undefined outside service/src. */
export function serviceLayer(file: string): number | undefined {
  const rel = relative(join(ROOT, "service/src"), file);
  if (rel.startsWith("..")) return undefined;
  const head = rel.split("/")[0]!;
  const i = SERVICE_LAYERS.findIndex((names) => names.includes(head));
  return i < 0 ? undefined : i;
}

export interface Graph {
  files: string[];
  edges: [from: string, to: string][];
}

/** Every relative import between non-test source files of the workspaces. */
export function importGraph(): Graph {
  const files = WORKSPACES.flatMap((w) => walk(join(ROOT, w), []));
  const known = new Set(files);
  const edges: [string, string][] = [];
  for (const f of files) {
    const src = readFileSync(f, "utf8");
    for (const m of src.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(f), spec);
      if (known.has(target)) edges.push([f, target]);
    }
  }
  return { files, edges };
}

/** Strongly connected components with more than one file (or a self-import): the cycles. */
export function cycles(g: Graph): string[][] {
  const next = new Map<string, string[]>();
  for (const [a, b] of g.edges) next.set(a, [...(next.get(a) ?? []), b]);
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (next.get(v) ?? []).includes(v)) out.push(scc);
    }
  };
  for (const f of g.files) if (!idx.has(f)) visit(f);
  return out;
}

/** The graph of service folders (first path segment under service/src), for folder-level cycles. */
export function folderGraph(g: Graph): Graph {
  const folder = (f: string): string | undefined => {
    const rel = relative(join(ROOT, "service/src"), f);
    return rel.startsWith("..") ? undefined : rel.split("/")[0];
  };
  const edges = new Map<string, [string, string]>();
  for (const [a, b] of g.edges) {
    const fa = folder(a);
    const fb = folder(b);
    if (fa !== undefined && fb !== undefined && fa !== fb) edges.set(`${fa}>${fb}`, [fa, fb]);
  }
  const files = [...new Set([...edges.values()].flat())];
  return { files, edges: [...edges.values()] };
}

/** Service arrows whose target sits in a higher layer than their source. */
export function upward(g: Graph): [string, string][] {
  return g.edges.filter(([a, b]) => {
    const la = serviceLayer(a);
    const lb = serviceLayer(b);
    return la !== undefined && lb !== undefined && lb < la;
  });
}

if (import.meta.main) {
  const g = importGraph();
  const up = upward(g);
  const cyc = cycles(g);
  const folderCycles = cycles(folderGraph(g));
  const rel = (f: string) => relative(ROOT, f);
  const serviceEdges = g.edges.filter(([a]) => serviceLayer(a) !== undefined || a.includes("/service/src/"));
  console.log(
    `files ${g.files.length}, arrows ${g.edges.length} (service ${serviceEdges.length}), upward ${up.length}, cycles ${cyc.length}`,
  );
  for (const [a, b] of up) console.log(`  upward: ${rel(a)} -> ${rel(b)}`);
  for (const c of cyc) console.log(`  cycle: ${c.map(rel).join(" -> ")}`);
  console.log(`folder cycles ${folderCycles.length}`);
  for (const c of folderCycles) console.log(`  folder cycle: ${c.join(" <-> ")}`);
  const unplaced = g.files.filter((f) => f.includes("/service/src/") && serviceLayer(f) === undefined);
  for (const f of unplaced) console.log(`  not in a layer: ${rel(f)}`);
  if (
    process.argv.includes("--check") &&
    (up.length > 0 || cyc.length > 0 || folderCycles.length > 0 || unplaced.length > 0)
  )
    process.exit(1);
}
