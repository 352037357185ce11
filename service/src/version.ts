// The service version reported by /healthz and the CLI, read once from the package manifest.
import { readFileSync } from "node:fs";

/** Version of @mend/service. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
