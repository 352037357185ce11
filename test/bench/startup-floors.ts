// Node's own start-up cost on this machine, for the service's start-up rows: `node -e ''` (spawn → exit)
// and a bare node:http server (spawn → its "listening" line), timed by the bench like the service.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** A bare node:http server on a free loopback port that prints one line once it listens. */
const BARE_HTTP =
  "require('node:http').createServer((q, s) => s.end()).listen(0, '127.0.0.1', function () { console.log('listening ' + this.address().port) })";

/**
 * Spawn → exit of `node -e ''` (Node's boot and teardown, no module of ours).
 * @example const ms = await emptyNodeMs()
 */
export function emptyNodeMs(): Promise<number> {
  const t = performance.now();
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(performance.now() - t) : reject(new Error(`node -e '' exited with ${code}`)),
    );
  });
}

/**
 * Spawn → "listening" line of a bare node:http server (then it is killed).
 * @example const ms = await bareHttpListeningMs()
 */
export function bareHttpListeningMs(): Promise<number> {
  const t = performance.now();
  const child = spawn(process.execPath, ["-e", BARE_HTTP], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let ms: number | undefined;
    createInterface({ input: child.stdout }).once("line", () => {
      ms = performance.now() - t;
      child.kill("SIGKILL");
    });
    child.once("exit", () =>
      ms === undefined ? reject(new Error("the bare node:http server exited before listening")) : resolve(ms),
    );
  });
}
