// The WAL checkpointer's thread (WalCheckpointer): its own connection to the file, a PASSIVE checkpoint per
// request, so the fsyncs of a checkpoint never run on the main thread.
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";

const { path } = workerData as { path: string };
const db = new DatabaseSync(path, { timeout: 10_000 });
// NORMAL as the main connection: the checkpoint syncs the WAL before it copies and the file after.
db.exec("PRAGMA synchronous=NORMAL;");

parentPort!.on("message", (message: "checkpoint" | "close") => {
  if (message === "close") {
    db.close();
    process.exit(0);
  }
  try {
    db.exec("PRAGMA wal_checkpoint(PASSIVE);");
  } catch {
    // A busy or faulty file: the next request tries again (the main connection reports storage faults).
  }
});
