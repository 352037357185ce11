// The floor of a code-mode execution that keeps the guest off the host thread: bare quickjs-emscripten in one
// worker thread, a new runtime per run, one message per tool call each way (call, answer), one for the start and
// one for the end. What Mend's engine adds on top of it is its own cost; what this adds to BareQuickJs is the
// price of the thread boundary (the isolation a stuck built-in needs: the host can terminate the worker).
import { parentPort, Worker } from "node:worker_threads";
import { BareQuickJs } from "./bare-quickjs.ts";

type ToWorker = { type: "run"; id: number; code: string } | { type: "answer"; callId: number; json: string };
type FromWorker =
  | { type: "ready" }
  | { type: "call"; callId: number; tool: string; argsJson: string }
  | { type: "done"; id: number; result: unknown };

/**
 * The host side: runs one script at a time in the worker, answering each tool call with `answer(tool, args)`.
 * @example const w = await BareQuickJsWorker.start(); await w.run("return 1", (t, a) => a); await w.close()
 */
export class BareQuickJsWorker {
  readonly #worker: Worker;
  #ids = 0;
  #waiting = new Map<number, (result: unknown) => void>();
  #answer: (tool: string, args: unknown) => unknown = (_t, a) => a;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on("message", (m: FromWorker) => {
      if (m.type === "call") {
        const json = JSON.stringify(this.#answer(m.tool, JSON.parse(m.argsJson))) ?? "null";
        worker.postMessage({ type: "answer", callId: m.callId, json } satisfies ToWorker);
      } else if (m.type === "done") {
        this.#waiting.get(m.id)?.(m.result);
        this.#waiting.delete(m.id);
      }
    });
  }

  static async start(): Promise<BareQuickJsWorker> {
    const worker = new Worker(new URL(import.meta.url));
    await new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", reject);
    });
    return new BareQuickJsWorker(worker);
  }

  run(code: string, answer: (tool: string, args: unknown) => unknown): Promise<unknown> {
    this.#answer = answer;
    const id = ++this.#ids;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#worker.postMessage({ type: "run", id, code } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

async function workerMain(): Promise<void> {
  const port = parentPort!;
  const quickjs = await BareQuickJs.load();
  let seq = 0;
  const answers = new Map<number, (json: string) => void>();
  // Each tool call crosses to the host and its answer comes back as a message.
  const remote =
    (tool: string) =>
    (args: unknown): Promise<unknown> =>
      new Promise((resolve) => {
        const callId = ++seq;
        answers.set(callId, (json) => resolve(JSON.parse(json)));
        port.postMessage({ type: "call", callId, tool, argsJson: JSON.stringify(args) } satisfies FromWorker);
      });
  port.on("message", (m: ToWorker) => {
    if (m.type === "answer") {
      answers.get(m.callId)?.(m.json);
      answers.delete(m.callId);
      return;
    }
    void quickjs
      .run(m.code, { echo: remote("echo") })
      .then((result) => port.postMessage({ type: "done", id: m.id, result } satisfies FromWorker));
  });
  port.postMessage({ type: "ready" } satisfies FromWorker);
}

if (parentPort !== null) await workerMain();
