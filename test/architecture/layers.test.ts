// The architecture holds by construction: the lint refuses imports that run up the layers, the import
// graph has no cycle, and every MEND_* variable is read by config/ alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import { cycles, folderGraph, importGraph, serviceLayer, upward } from "../../scripts/import-graph.ts";

const ROOT = join(import.meta.dirname, "../..");

/** The repository's lint configuration without type information (planted files exist only as text). */
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: [
    {
      ...tseslint.configs.disableTypeChecked,
      files: ["**/*.ts"],
      languageOptions: { parserOptions: { projectService: false, project: null } },
    },
  ],
});

async function restrictedImports(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

const planted: [where: string, code: string, why: RegExp][] = [
  ["service/src/engine/planted.ts", 'import type { AppEnv } from "../edge/app-env.ts";', /layer above/],
  ["service/src/tools/planted.ts", 'import { Executor } from "../engine/executor.ts";', /layer above/],
  ["service/src/store/planted.ts", 'import type { Caller } from "../core/caller.ts";', /layer above/],
  ["service/src/edge/routes/planted.ts", 'import { main } from "../../cli/main.ts";', /layer above/],
  ["service/src/lib/planted.ts", 'import { loadConfig } from "../llm/retry.ts";', /layer above/],
  [
    "service/src/loop/planted.ts",
    'import { SqliteStore } from "../store/sqlite/sqlite-store.ts";',
    /composition root/,
  ],
  ["service/src/engine/planted.ts", 'import { Hono } from "hono";', /Only service\/src\/edge speaks HTTP/],
  [
    "service/src/server.ts",
    'import { serve } from "@hono/node-server";',
    /Only service\/src\/edge speaks HTTP/,
  ],
  ["service/src/engine/planted.ts", 'import { test } from "node:test";', /no test framework/],
  [
    "sandboxes/src/codemode/planted.ts",
    'import { x } from "../../../service/src/core/ids.ts";',
    /Sandboxes import only/,
  ],
  ["sandboxes/src/codemode/planted.ts", 'import { x } from "@mend/service";', /know nothing of the service/],
  ["client/src/planted.ts", 'import type { Failure } from "@mend/wire";', /imports no @mend/],
  ["wire/src/planted.ts", 'import { DockerRunner } from "@mend/sandboxes";', /bottom layer/],
];

for (const [where, code, why] of planted) {
  test(`the lint refuses \`${code}\` in ${where}`, async () => {
    const messages = await restrictedImports(where, code);
    assert.ok(
      messages.some((m) => why.test(m)),
      `expected a restricted-import error matching ${why}, got ${JSON.stringify(messages)}`,
    );
  });
}

test("the lint accepts imports that run down the layers", async () => {
  assert.deepEqual(
    await restrictedImports(
      "service/src/edge/routes/planted.ts",
      'import type { Services } from "../../services/services.ts";\nimport { Hono } from "hono";\nimport type { Store } from "../../store/store.ts";',
    ),
    [],
  );
  assert.deepEqual(
    await restrictedImports(
      "service/src/services/planted.ts",
      'import { SqliteStore } from "../store/sqlite/sqlite-store.ts";',
    ),
    [],
  );
});

test("the import graph has no cycle, between files or between service folders, and no upward arrow", () => {
  const g = importGraph();
  const rel = (f: string) => relative(ROOT, f);
  assert.deepEqual(
    cycles(g).map((c) => c.map(rel)),
    [],
  );
  assert.deepEqual(cycles(folderGraph(g)), []);
  assert.deepEqual(
    upward(g).map(([a, b]) => `${rel(a)} -> ${rel(b)}`),
    [],
  );
  const unplaced = g.files.filter((f) => f.includes("/service/src/") && serviceLayer(f) === undefined);
  assert.deepEqual(unplaced.map(rel), []);
});

test("every MEND_* variable is read by service/src/config alone", () => {
  const readers = importGraph()
    .files.filter((f) => !f.includes("/service/src/config/"))
    .filter((f) => /process\.env\.MEND_|process\.env\[["']MEND_/.test(readFileSync(f, "utf8")))
    .map((f) => relative(ROOT, f));
  assert.deepEqual(readers, []);
});

test("every MEND_* variable the config parses is in the README's configuration table", () => {
  const config = readFileSync(join(ROOT, "service/src/config/config.ts"), "utf8");
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const names = [...new Set([...config.matchAll(/\b(MEND_[A-Z0-9_]+):/g)].map((m) => m[1]!))];
  assert.ok(names.length > 10, "the config schema lists the variables");
  const missing = names.filter((n) => !readme.includes(`\`${n}\``));
  assert.deepEqual(missing, []);
});
