// The published @mend/client as a stranger gets it: `npm pack` of the workspace, installed from the tarball
// into a fresh project outside the repository, compiled strictly under every module resolution, and run.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NPM_ENV = {
  ...process.env,
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
};

let project: string;
let pkg: string;

before(() => {
  const packs = mkdtempSync(join(tmpdir(), "mend-client-pack-"));
  const out = execFileSync("npm", ["pack", "--workspace", "client", "--pack-destination", packs, "--json"], {
    cwd: ROOT,
    env: NPM_ENV,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { filename } = (JSON.parse(out.slice(out.indexOf("["))) as { filename: string }[])[0]!;
  project = mkdtempSync(join(tmpdir(), "mend-client-consumer-"));
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  execFileSync("npm", ["install", "--offline", join(packs, filename)], {
    cwd: project,
    env: NPM_ENV,
    stdio: "ignore",
  });
  pkg = join(project, "node_modules/@mend/client");
});

/** What a consumer writes, with an env var that may be undefined (the exactOptionalPropertyTypes trap). */
const CONSUMER = `
import { Mend, MendApiError, unwrap, type ExecutionResponse, type Run } from "@mend/client";
declare const env: Record<string, string | undefined>;
const mend = new Mend({ baseUrl: env.MEND_URL ?? "http://127.0.0.1:8080", apiKey: env.MEND_API_KEY });
export async function main(): Promise<[unknown, Run | null]> {
  const res: ExecutionResponse = await mend.execute({ sandbox: "codemode", code: "return 1" });
  const page = await mend.runs.list({ limit: 2, cursor: env.CURSOR });
  try {
    return [unwrap(res), page.items[0] ?? null];
  } catch (e) {
    if (e instanceof MendApiError) return [e.status, null];
    throw e;
  }
}
`;

function compile(options: ts.CompilerOptions, ext: string): string[] {
  const file = join(project, `consumer-${options.moduleResolution}.${ext}`);
  writeFileSync(file, CONSUMER);
  const program = ts.createProgram([file], {
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    skipLibCheck: false,
    types: [],
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
    target: ts.ScriptTarget.ES2022,
    ...options,
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

describe("the packed @mend/client in a fresh strict project", () => {
  it("compiles with nodenext resolution", () => {
    assert.deepEqual(
      compile({ module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext }, "mts"),
      [],
    );
  });

  it("compiles with bundler resolution", () => {
    assert.deepEqual(
      compile({ module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }, "ts"),
      [],
    );
  });

  it("compiles with node10 resolution (a top-level `types`)", () => {
    assert.deepEqual(
      compile({ module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Node10 }, "ts"),
      [],
    );
  });

  it("ships source maps with their sources, and no file that points outside the package", () => {
    const files = readdirSync(join(pkg, "dist"));
    const maps = files.filter((f) => f.endsWith(".map"));
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(pkg, "dist", m), "utf8")) as {
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      assert.equal(map.sourcesContent?.length, map.sources.length, `${m} carries its sources`);
      assert.ok(
        map.sourcesContent.every((c) => typeof c === "string" && c.length > 0),
        m,
      );
    }
    assert.ok(files.includes("index.js") && files.includes("index.d.ts"));
    assert.ok(!files.some((f) => f.endsWith(".test.js")), "no tests in the package");
  });

  it("loads and constructs a client at run time from the installed package", () => {
    const out = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        "const m = await import('@mend/client'); console.log(new m.Mend({ baseUrl: 'http://127.0.0.1:1/' }).baseUrl)",
      ],
      { cwd: project, encoding: "utf8" },
    );
    assert.equal(out.trim(), "http://127.0.0.1:1");
  });
});
