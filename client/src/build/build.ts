// Builds the publishable package: regenerates the wire types, compiles ESM + .d.ts, and points the
// declarations' relative imports at .js (tsc rewrites them in .js output only).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateWireTypes, TARGET } from "./gen-wire-types.ts";

const CLIENT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = fileURLToPath(new URL("../../../node_modules/typescript/bin/tsc", import.meta.url));

/**
 * Compiles client/src into `outDir` (default client/dist).
 * @example await buildClient("/tmp/out")
 */
export async function buildClient(outDir = join(CLIENT, "dist")): Promise<void> {
  const types = await generateWireTypes();
  if (readFileSync(TARGET, "utf8") !== types) writeFileSync(TARGET, types);
  rmSync(outDir, { recursive: true, force: true });
  execFileSync(process.execPath, [TSC, "-p", join(CLIENT, "tsconfig.build.json"), "--outDir", outDir], {
    stdio: "inherit",
  });
  for (const f of readdirSync(outDir).filter((n) => n.endsWith(".d.ts"))) {
    const path = join(outDir, f);
    writeFileSync(path, readFileSync(path, "utf8").replace(/(from\s+["']\.\/[\w-]+)\.ts(["'])/g, "$1.js$2"));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = process.argv[2] ? resolve(process.argv[2]) : undefined;
  await buildClient(out);
  console.log(`built ${out ?? join(CLIENT, "dist")}`);
}
