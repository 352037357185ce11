// The `mend` commands: `mend serve` runs the service in the foreground; `mend keys` manages API keys.
import { loadConfig, ConfigError } from "../config/config.ts";
import { StartupError } from "../config/startup-error.ts";
import { createLogger } from "../log/logger.ts";
import { startServer } from "../server.ts";
import { limitHeapGrowth } from "../lib/heap-growth.ts";
import { VERSION } from "../version.ts";
import { keysCommand } from "./keys.ts";

const USAGE = `usage: mend <command>

commands:
  serve            run the service in the foreground (configuration from MEND_* variables)
  keys             create, list and revoke API keys (mend keys --help)
  version          print the version
`;

async function serve(): Promise<void> {
  const config = loadConfig();
  limitHeapGrowth(config.heapGrowthPercent);
  const log = createLogger(config.logLevel);
  const server = await startServer(config, log);
  let signals = 0;
  const stop = (signal: string) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    log.info({ signal }, "signal received");
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

async function main(argv: string[]): Promise<number> {
  const [cmd] = argv;
  switch (cmd) {
    case "serve":
      await serve();
      return -1;
    case "keys":
      return keysCommand(argv.slice(1));
    case "version":
      console.log(VERSION);
      return 0;
    case undefined:
    case "help":
    case "--help":
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`mend: unknown command "${cmd}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof StartupError) {
      process.stderr.write(`mend: ${err.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`mend: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
