#!/usr/bin/env node
// The `mend` command line's entry: turns on Node's compile cache, then loads the commands.
// Why a separate entry: the cache (V8 code and the TypeScript-stripped sources, in the OS temp dir) must be
// on before the service's modules load; it cuts the CPU of loading them by ~40% from the second start on.
import { enableCompileCache } from "node:module";

enableCompileCache();
await import("./commands.ts");
