// Builds dist/: the service bundled into plain JavaScript by esbuild, the form `npm start`, the image and the
// benchmarks run. Why: from sources, start-up loads ~450 modules through Node's TypeScript type stripping
// (the stripper itself is a wasm module loaded first); one bundle with lazy chunks loads in a fraction.
//
// Usage: node scripts/build-dist.ts [--if-stale | --check] [--outdir DIR] [--quiet]
//   (none)        build now
//   --if-stale    build only when the sources changed since dist/ was built (cheap: one hash of the inputs)
//   --check       exit 1 when dist/ is missing or older than the sources; build nothing
//   --outdir DIR  build into DIR instead of dist/ (images/build-service builds into its context)
//
// Layout: dist/ is flat (entries and chunks side by side), so `new URL("./x", import.meta.url)` means the
// same from every file. Files the sources load at run time by path are handled here:
//   - worker and child-process entries (QuickJS worker, Monty child and thread) are entries of their own;
//     a source's `new URL("./worker.ts", import.meta.url)` is rewritten to the entry's bundle;
//   - any other such URL (the UI's inspector.js, policies/schema.json, service/package.json) is rewritten
//     to point from dist/ back at the file in the repository (the image ships the same tree);
//   - packages stay external (native addons, wasm files found next to their package): node_modules is
//     resolved from dist/ as from the sources.
// dist/build.json holds the hash of every input; a dist/ whose hash differs is stale and never used as is.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(import.meta.dirname, "..");
export const DIST = join(ROOT, "dist");

/** Bundled entries: output name → source. Workers and child processes run from their own bundle. */
export const ENTRIES: Record<string, string> = {
  mend: "service/src/cli/main.ts",
  "quickjs-worker": "sandboxes/src/codemode/quickjs/worker.ts",
  "monty-child": "sandboxes/src/codemode/monty/child-main.ts",
  "monty-thread": "sandboxes/src/codemode/monty/monty-thread.ts",
  "wal-checkpoint-worker": "service/src/store/sqlite/wal-checkpoint-worker.ts",
};

/**
 * Packages bundled into dist/: ESM spread over hundreds of files (typebox ~800, zod ~400) that Node would
 * resolve, read and link one by one at each start. Every other package stays external: native addons
 * (isolated-vm, @pydantic/monty), files found next to their module (QuickJS's wasm, pino's transport
 * worker), CommonJS trees with optional native parts (dockerode, ssh2), and what loads lazily anyway.
 */
const BUNDLED = new Set([
  "@mend/wire",
  "@mend/sandboxes",
  "zod",
  "@sinclair/typebox",
  "hono",
  "@hono/node-server",
  "yaml",
  "prom-client",
  "ipaddr.js",
  "re2js",
  "tar-stream",
]);

/** Never bundled, whoever imports them: native addons and their loaders. */
const NEVER_BUNDLED = new Set(["cpu-features", "isolated-vm", "@pydantic/monty", "pg-native"]);

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
const packageOf = (spec: string): string =>
  spec
    .split("/")
    .slice(0, spec.startsWith("@") ? 2 : 1)
    .join("/");

/**
 * Exports of Node's built-in modules that the bundle never imports through `import`: an ESM import of a
 * built-in makes Node build its ESM facade, which reads every export, getters included — `node:http`'s
 * WebSocket/CloseEvent/MessageEvent load Node's internal undici (~45 ms of a start), `node:tls`'s
 * rootCertificates parses the CA store, `node:crypto`'s webcrypto loads WebCrypto. The bundle imports built-ins through `process.getBuiltinModule`
 * instead (no facade) and exports the rest by name; importing one of these by name fails the build.
 */
const SKIPPED_BUILTIN_EXPORTS: Record<string, string[]> = {
  http: ["WebSocket", "CloseEvent", "MessageEvent"],
  tls: ["rootCertificates"],
  crypto: ["webcrypto", "subtle", "getRandomValues"],
  process: ["stdin"],
};

/** A built-in module as an ES module without Node's facade: its default and its named exports. */
function builtinShim(name: string): string {
  const mod = process.getBuiltinModule(name) as Record<string, unknown>;
  const skipped = new Set(SKIPPED_BUILTIN_EXPORTS[name.replace(/^node:/, "")] ?? []);
  const names = Object.keys(mod).filter(
    (k) => k !== "default" && !skipped.has(k) && /^[A-Za-z_$][\w$]*$/.test(k),
  );
  return [
    `const m = process.getBuiltinModule(${JSON.stringify(name)});`,
    "export default m;",
    names.length ? `export const { ${names.join(", ")} } = m;` : "",
  ].join("\n");
}

const SOURCE_DIRS = ["wire/src", "sandboxes/src", "service/src"];
const MANIFESTS = [
  "package.json",
  "package-lock.json",
  "wire/package.json",
  "sandboxes/package.json",
  "service/package.json",
  "scripts/build-dist.ts",
];

function walk(dir: string, out: string[]): string[] {
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (e.name !== "node_modules" && e.name !== "testing") walk(p, out);
    } else if (!e.name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

/** The hash of everything the bundle is made of (sources without tests, manifests, this script). */
export function inputsHash(): string {
  const h = createHash("sha256");
  const files = [...SOURCE_DIRS.flatMap((d) => walk(d, [])), ...MANIFESTS].sort();
  for (const f of files) {
    if (!existsSync(join(ROOT, f))) continue;
    h.update(f)
      .update("\0")
      .update(readFileSync(join(ROOT, f)))
      .update("\0");
  }
  return h.digest("hex").slice(0, 32);
}

/** Why `dir` cannot be used for the current sources, or null when it is up to date. */
export function staleness(dir = DIST): string | null {
  const file = join(dir, "build.json");
  if (!existsSync(file)) return `${relative(ROOT, dir) || dir}/ is not built`;
  const built = (JSON.parse(readFileSync(file, "utf8")) as { inputs?: string }).inputs;
  return built === inputsHash() ? null : `${relative(ROOT, dir) || dir}/ is older than the sources`;
}

const URL_RE = /new URL\(\s*(["'])([^"']+)\1\s*,\s*import\.meta\.url\s*\)/g;

/** Builds into a fresh directory, then swaps it in (a concurrent reader sees the old or the new dist). */
export async function build(outdir = DIST): Promise<void> {
  const { build: esbuild } = await import("esbuild");
  const inputs = inputsHash();
  const entrySources = new Map(Object.entries(ENTRIES).map(([name, src]) => [join(ROOT, src), name]));
  const tmp = `${outdir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(tmp), { recursive: true });
  const result = await esbuild({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([n, s]) => [n, join(ROOT, s)])),
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node24",
    chunkNames: "[name]-[hash]",
    sourcemap: "linked",
    legalComments: "none",
    // Bundled CommonJS (yaml's node build) requires Node's built-ins: give every chunk a `require`.
    banner: {
      js: 'import { createRequire as __mendRequire } from "node:module"; const require = __mendRequire(import.meta.url);',
    },
    logLevel: "warning",
    metafile: true,
    plugins: [
      {
        name: "mend-dist",
        setup(b) {
          // The workspaces and the pure-ESM packages of the start path are bundled; every other package is
          // loaded from node_modules at run time.
          // A bundled package's own imports are bundled with it (what it resolves stays its version).
          b.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith("node:") ||
            BUNDLED.has(packageOf(args.path)) ||
            (args.importer.includes("/node_modules/") && !NEVER_BUNDLED.has(packageOf(args.path)))
              ? undefined
              : { external: true },
          );
          // `import … from "node:x"` (not require, not import()): through process.getBuiltinModule.
          b.onResolve({ filter: /^node:/ }, (args) =>
            args.kind === "import-statement" ? { path: args.path, namespace: "mend-builtin" } : undefined,
          );
          b.onLoad({ filter: /.*/, namespace: "mend-builtin" }, (args) => ({
            contents: builtinShim(args.path),
            loader: "js",
          }));
          // Files loaded by path at run time: an entry's bundle, or the file itself in the repository.
          b.onLoad({ filter: /\.ts$/ }, (args) => {
            if (args.path.includes("/node_modules/")) return undefined;
            const src = readFileSync(args.path, "utf8");
            const contents = src.replace(URL_RE, (whole, _q: string, rel: string) => {
              if (/^[a-z]+:/i.test(rel)) return whole;
              const target = resolve(dirname(args.path), rel);
              const entry = entrySources.get(target);
              const to = entry ? `./${entry}.js` : relative(DIST, target);
              if (!entry && !existsSync(target)) throw new Error(`${args.path}: ${rel} does not exist`);
              return `new URL(${JSON.stringify(to)}, import.meta.url)`;
            });
            return { contents, loader: "ts" };
          });
        },
      },
    ],
  });
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  writeFileSync(
    join(tmp, "build.json"),
    `${JSON.stringify({ inputs, builtAt: new Date().toISOString(), bytes }, null, 2)}\n`,
  );
  const old = `${outdir}.old-${process.pid}`;
  if (existsSync(outdir)) renameSync(outdir, old);
  renameSync(tmp, outdir);
  rmSync(old, { recursive: true, force: true });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      "if-stale": { type: "boolean" },
      check: { type: "boolean" },
      outdir: { type: "string" },
      quiet: { type: "boolean" },
    },
  });
  const outdir = values.outdir ? resolve(values.outdir) : DIST;
  const say = (s: string) => values.quiet || process.stderr.write(`build-dist: ${s}\n`);
  if (values.check || values["if-stale"]) {
    const why = staleness(outdir);
    if (why === null) return 0;
    if (values.check) {
      process.stderr.write(`build-dist: ${why}: run npm run build\n`);
      return 1;
    }
    say(`${why}: building`);
  }
  const t = performance.now();
  await build(outdir);
  say(`built ${relative(ROOT, outdir) || outdir}/ in ${Math.round(performance.now() - t)} ms`);
  return 0;
}

if (import.meta.main) process.exitCode = await main();
