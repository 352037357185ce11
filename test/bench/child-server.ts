// A benchmark peer or floor that runs as a child process of the bench and prints its URL as its first line.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface ChildServer {
  url: string;
  child: ChildProcess;
  /** SIGTERM unless it already exited; resolves once it has. */
  stop(): Promise<void>;
}

/**
 * Spawns `file` with Node and waits for the URL it prints first; rejects if it exits before.
 * @example const s = await startChildServer(new URL(import.meta.url).pathname, [], "bare server"); await s.stop()
 */
export async function startChildServer(file: string, args: string[], what: string): Promise<ChildServer> {
  const child = spawn(process.execPath, [file, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    void exited.then(() => reject(new Error(`${what} exited before listening`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
