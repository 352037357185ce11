#!/usr/bin/env node
// The `mend` command line's entry: turns on Node's compile cache, then loads the commands.
// Why a separate entry: the cache (V8 code and the TypeScript-stripped sources; in NODE_COMPILE_CACHE, else
// the OS temp dir) must be on before the service's modules load; it cuts the CPU of loading them by ~40%
// from the second start on. The service writes it once it listens (lib/compile-cache.ts), not only at exit.
import { enableCompileCache } from "node:module";

enableCompileCache();
await import("./commands.ts");
