// Opens the store the configuration names: the only module besides the composition root that knows backends.
import { join } from "node:path";
import type { Config } from "../config/config.ts";
import type { Store } from "../store/store.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";

/**
 * The embedded SQLite store in the data dir (the default; PostgreSQL joins it when configured).
 * @example const store = await openStore(loadConfig()); try { ... } finally { await store.close() }
 */
export async function openStore(config: Pick<Config, "dataDir">): Promise<Store> {
  return SqliteStore.open(join(config.dataDir, "mend.db"));
}
