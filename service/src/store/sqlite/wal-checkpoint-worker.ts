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
    // The WAL's length after it, in frames: the host checkpoints once itself when it keeps growing.
    const r = db.prepare("PRAGMA wal_checkpoint(PASSIVE);").get() as { log: number; checkpointed: number };
    parentPort!.postMessage({ log: Number(r.log), checkpointed: Number(r.checkpointed) });
  } catch {
    // A busy or faulty file: the next request tries again (the main connection reports storage faults).
  }
});
