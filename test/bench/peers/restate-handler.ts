// The Restate side of the durable-steps benchmark, run as its own process: a service whose handler makes
// `steps` trivial durable steps (`ctx.run`), each journaled by the Restate server before the next.
// Usage: node restate-handler.ts <port>   (listens on 127.0.0.1:<port>, HTTP/2, prints "ready")
import { createServer } from "node:http2";
import * as restate from "@restatedev/restate-sdk";

const bench = restate.service({
  name: "bench",
  handlers: {
    /** `steps` sequential ctx.run calls; returns each step's duration as the handler saw it (ms). */
    run: async (ctx: restate.Context, req: { steps: number }): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < req.steps; i++) {
        const t0 = performance.now();
        await ctx.run(`step-${i}`, () => i);
        // The recovery benchmark kills this process once step 100 is journaled.
        if (i === 100) process.stdout.write("step 100\n");
        times.push(performance.now() - t0);
      }
      return times;
    },
  },
});

const port = Number(process.argv[2]);
const server = createServer(restate.createEndpointHandler({ services: [bench] }));
server.listen(port, "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
