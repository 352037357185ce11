// The floor of a durable step over HTTP: a bare node:http server (no framework, no auth, no engine) in its own
// process like the service, journaling each step with Mend's own SqliteStore — the same statements, the
// same group commit, the same durability (answered only after the COMMIT). Mend ÷ this is what the edge and
// the engine add; this ÷ a bare server without the store (GET /ping) is what SQLite costs.
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../../service/src/store/sqlite/sqlite-store.ts";
import type { Announce } from "../../../service/src/store/store.ts";
import { startChildServer, type ChildServer } from "../child-server.ts";

export type BareSteps = ChildServer;

/**
 * Spawns this file as a child process: `POST /runs` → `{id}`; `POST /runs/{id}/steps` `{key}` claims the
 * step, then ends it (two writes, like a tool step); `PUT /runs/{id}/checkpoints/{key}` `{value}` claims
 * and ends it in one write (like a checkpoint); `GET /ping` answers without the store.
 * @example const bare = await startBareSteps(); ...; await bare.stop()
 */
export function startBareSteps(): Promise<BareSteps> {
  return startChildServer(new URL(import.meta.url).pathname, [], "bare steps server");
}

const started: Announce = (s) => ({
  type: "step.started",
  data: { seq: s.seq, key: s.key, kind: s.kind, attempt: s.attempt },
});
const ended: Announce = (s) => ({
  type: "step.completed",
  data: { seq: s.seq, key: s.key, kind: s.kind, attempt: s.attempt, status: s.status },
});

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), "mend-bare-steps-"));
  const store = SqliteStore.open(join(dir, "mend.db"), { owner: true });
  let runs = 0;
  const reply = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const handle = async (method: string, parts: string[], body: Record<string, unknown>) => {
    if (method === "POST" && parts.length === 1) {
      const id = `run_${++runs}`;
      await store.createRun({ id, tenant: "local", mode: "client", goal: null, implicit: false });
      return { id };
    }
    const runId = parts[1]!;
    if (method === "POST" && parts[2] === "steps") {
      const key = String(body.key);
      const c = await store.claimStep({ runId, key, kind: "tool", input: body, announce: started });
      if (c.kind !== "claimed") return { key, status: c.step.status, replayed: true };
      const output = { result: null, usage: { wallMs: 0 } };
      const s = await store.endStep(runId, c.step.seq, {
        attempt: c.step.attempt,
        status: "succeeded",
        output,
        failure: null,
        usage: output.usage,
        announce: ended,
      });
      return { key, status: s.status, ...output };
    }
    const key = parts[3]!;
    const c = await store.claimStep({
      runId,
      key: `checkpoint:${key}`,
      kind: "checkpoint",
      input: { key },
      announce: started,
      end: {
        status: "succeeded",
        output: { value: body.value },
        failure: null,
        usage: null,
        announce: ended,
      },
    });
    return { key, value: (c.step.output as { value?: unknown } | null)?.value ?? null };
  };
  const server = http.createServer((req, res) => {
    if (req.url === "/ping") return reply(res, 200, { ok: true });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      handle(req.method!, req.url!.split("/").filter(Boolean), text ? JSON.parse(text) : {}).then(
        (out) => reply(res, 200, out),
        (err: Error) => reply(res, 500, { error: err.message }),
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, "127.0.0.1", () => {
    console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  process.once("SIGTERM", () =>
    server.close(() => {
      void store.close().then(() => {
        rmSync(dir, { recursive: true, force: true });
        process.exit(0);
      });
    }),
  );
  // Kept-alive sockets would hold close() open: the benchmark's client is closed first, but be sure.
  process.once("SIGTERM", () => server.closeAllConnections());
}

if (import.meta.main) main();
