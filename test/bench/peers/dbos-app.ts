// The DBOS side of the durable-steps benchmark, run as its own process: a workflow of `steps` trivial
// steps (DBOS.runStep, each checkpointed in PostgreSQL before the next), behind a loopback HTTP face.
// Usage: DBOS_SYSTEM_DATABASE_URL=postgres://… node dbos-app.ts <port>   (prints "ready"; on launch DBOS
// recovers the workflows a killed predecessor left pending)
import { createServer } from "node:http";
import { DBOS } from "@dbos-inc/dbos-sdk";

const bench = DBOS.registerWorkflow(
  async (steps: number): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await DBOS.runStep(async () => i, { name: `step-${i}` });
      if (i === 100) process.stdout.write("step 100\n");
      times.push(performance.now() - t0);
    }
    return times;
  },
  { name: "bench" },
);

DBOS.setConfig({ name: "mend-bench", systemDatabaseUrl: process.env.DBOS_SYSTEM_DATABASE_URL! });
await DBOS.launch();

const port = Number(process.argv[2]);
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (d: Buffer) => (body += d.toString()));
  req.on("end", () => {
    const { id, steps } = JSON.parse(body || "{}") as { id: string; steps?: number };
    const done = (value: unknown) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(value));
    };
    const fail = (e: unknown) => {
      res.statusCode = 500;
      res.end(String((e as Error).message ?? e));
    };
    if (req.url === "/run") {
      DBOS.startWorkflow(bench, { workflowID: id })(steps ?? 200)
        .then((h) => h.getResult())
        .then(done, fail);
    } else if (req.url === "/result") {
      DBOS.retrieveWorkflow<number[]>(id).getResult().then(done, fail);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
});
server.listen(port, "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => {
  server.close();
  void DBOS.shutdown().then(() => process.exit(0));
});
