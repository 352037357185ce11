import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { pino } from "pino";
import { JsonLogger } from "./json-logger.ts";

function capture(): { lines: Record<string, unknown>[]; raw: string[]; sink: { write(line: string): void } } {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    raw,
    sink: {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  };
}

/** pino writing into a stream, its lines parsed: the format JsonLogger keeps. */
function pinoLines(level: string): { log: ReturnType<typeof pino>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level }, stream), lines };
}

describe("JsonLogger", () => {
  it("writes the same keys in the same order as pino for fields, bindings and a message", () => {
    const mine = capture();
    const theirs = pinoLines("info");
    new JsonLogger("info", mine.sink)
      .child({ reqId: "q1" })
      .warn({ host: "0.0.0.0", n: 2 }, "listening beyond loopback");
    theirs.log.child({ reqId: "q1" }).warn({ host: "0.0.0.0", n: 2 }, "listening beyond loopback");
    const strip = (l: Record<string, unknown>) => ({ ...l, time: 0 });
    assert.deepEqual(Object.keys(mine.lines[0]!), Object.keys(theirs.lines[0]!));
    assert.deepEqual(strip(mine.lines[0]!), strip(theirs.lines[0]!));
    assert.equal(typeof mine.lines[0]!.time, "number");
    assert.ok(mine.raw[0]!.endsWith("}\n"), "one line per call");
  });

  it("serializes an error under err as pino does: type, message, stack and its own fields", () => {
    const mine = capture();
    const theirs = pinoLines("info");
    const err = Object.assign(new TypeError("boom"), { code: "E_BOOM" });
    new JsonLogger("info", mine.sink).error({ err, runId: "r1" }, "hosted run failed");
    theirs.log.error({ err, runId: "r1" }, "hosted run failed");
    assert.deepEqual({ ...mine.lines[0], time: 0 }, { ...theirs.lines[0], time: 0 });
    assert.equal((mine.lines[0]!.err as { type: string }).type, "TypeError");
  });

  it("follows an error's cause a bounded depth", () => {
    const mine = capture();
    let err = new Error("level 0");
    for (let i = 1; i <= 50; i++) err = new Error(`level ${i}`, { cause: err });
    new JsonLogger("info", mine.sink).error({ err }, "deep");
    let depth = 0;
    let e = mine.lines[0]!.err as { cause?: unknown };
    while (typeof e.cause === "object") {
      e = e.cause as { cause?: unknown };
      depth++;
    }
    assert.ok(depth <= 5, `depth ${depth}`);
    assert.equal(typeof e.cause, "string");
  });

  it("logs nothing below its level, and nothing at all when silent", () => {
    const info = capture();
    const silent = capture();
    const a = new JsonLogger("info", info.sink);
    a.debug({}, "hidden");
    a.trace("hidden");
    a.info("shown");
    a.fatal({}, "shown too");
    const s = new JsonLogger("silent", silent.sink);
    s.fatal({}, "never");
    s.child({ a: 1 }).error({}, "never");
    assert.deepEqual(
      info.lines.map((l) => [l.level, l.msg]),
      [
        [30, "shown"],
        [60, "shown too"],
      ],
    );
    assert.equal(silent.lines.length, 0);
  });

  it("turns a BigInt, a cycle and a throwing sink into a line or nothing, never an exception", () => {
    const mine = capture();
    const cyclic: Record<string, unknown> = { name: "c" };
    cyclic.self = cyclic;
    const log = new JsonLogger("info", mine.sink);
    log.info({ big: 10n ** 30n, cyclic }, "odd values");
    assert.equal(mine.lines[0]!.big, "1000000000000000000000000000000");
    assert.deepEqual(mine.lines[0]!.cyclic, { name: "c", self: "[Circular]" });
    const broken = new JsonLogger("info", {
      write() {
        throw new Error("EPIPE");
      },
    });
    assert.doesNotThrow(() => broken.error({}, "lost"));
  });

  it("keeps a child's bindings apart from its parent's", () => {
    const mine = capture();
    const root = new JsonLogger("info", mine.sink);
    const child = root.child({ runId: "r1" });
    child.child({ key: "k" }).info("nested");
    root.info("root");
    assert.equal(mine.lines[0]!.runId, "r1");
    assert.equal(mine.lines[0]!.key, "k");
    assert.equal(mine.lines[1]!.runId, undefined);
    assert.equal(mine.lines[1]!.pid, process.pid);
  });
});
