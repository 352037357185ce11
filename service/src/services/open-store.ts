// Opens the storage the configuration names: the only module besides the composition root that knows backends.
import { join } from "node:path";
import type { Config } from "../config/config.ts";
import type { Store } from "../store/store.ts";
import type { BlobStore } from "../store/blob-store.ts";
import { FileBlobStore } from "../store/file-blob-store.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";

/** The store and the blob store beside it. */
export interface Storage {
  store: Store;
  blobs: BlobStore;
}

export interface OpenStoreOptions {
  /**
   * The service: take the SQLite data dir's owner lock (a second service on the same dir is refused with
   * DataDirInUseError). Replicas share a PostgreSQL database, so there is no lock there.
   */
  owner?: boolean;
}

/**
 * PostgreSQL when MEND_DATABASE_URL is set (blobs in the same database), else SQLite and blob files in the
 * data dir (the embedded default).
 * @example const { store, blobs } = await openStorage(loadConfig(), { owner: true })
 */
export async function openStorage(
  config: Pick<Config, "dataDir" | "databaseUrl"> & Partial<Pick<Config, "replicaTtlMs">>,
  opts: OpenStoreOptions = {},
): Promise<Storage> {
  if (config.databaseUrl) {
    // Loaded only when configured: the driver is not part of an embedded service's start-up.
    const { PostgresStore } = await import("../store/postgres/postgres-store.ts");
    // A transaction of this replica idle past its TTL is ended by the server (its locks freed for the
    // replica that takes its runs over).
    const store = await PostgresStore.open(
      config.databaseUrl,
      config.replicaTtlMs === undefined ? {} : { idleInTransactionMs: config.replicaTtlMs },
    );
    return { store, blobs: store.blobStore() };
  }
  const store = SqliteStore.open(join(config.dataDir, "mend.db"), { owner: opts.owner === true });
  return { store, blobs: new FileBlobStore(join(config.dataDir, "blobs")) };
}

/**
 * The store alone, without the owner lock (`mend keys` works while the service runs).
 * @example const store = await openStore(loadConfig()); try { ... } finally { await store.close() }
 */
export async function openStore(config: Pick<Config, "dataDir" | "databaseUrl">): Promise<Store> {
  return (await openStorage(config)).store;
}
