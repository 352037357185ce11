import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
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

  it("writes an error's causes and an AggregateError's errors as pino does, a cycle of causes cut", () => {
    const cases: Record<string, unknown>[] = [];
    const inner = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    const outer = new TypeError("fetch failed", { cause: inner });
    const loop = new Error("a");
    const loop2 = new Error("b", { cause: loop });
    (loop as { cause?: unknown }).cause = loop2;
    const aggregate = new AggregateError([new Error("v4 refused"), new Error("v6 refused")], "");
    for (const err of [outer, loop, aggregate]) cases.push({ err, runId: "r1" });
    const mine = capture();
    const theirs = pinoLines("info");
    const log = new JsonLogger("info", mine.sink);
    for (const fields of cases) {
      log.error(fields, "hosted run failed");
      theirs.log.error(fields, "hosted run failed");
    }
    const strip = (l: Record<string, unknown>) => ({ ...l, time: 0 });
    assert.deepEqual(mine.lines.map(strip), theirs.lines.map(strip));
    assert.equal(
      (mine.lines[0]!.err as { message: string }).message,
      "fetch failed: connect ECONNREFUSED 127.0.0.1:9",
    );
  });

  it("writes a line, never throws, for fields no JSON can hold", () => {
    const mine = capture();
    const log = new JsonLogger("info", mine.sink);
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    let deep: unknown = {};
    for (let i = 0; i < 200_000; i++) deep = { deep };
    const selfish = Object.assign(new Error("me"), {});
    (selfish as { me?: unknown }).me = selfish;
    const hostile: object[] = [
      Object.defineProperty({}, "boom", {
        enumerable: true,
        get: () => {
          throw new Error("getter");
        },
      }),
      proxy,
      {
        nested: {
          toJSON: () => {
            throw new Error("toJSON");
          },
        },
      },
      { deep },
      { err: selfish },
      JSON.parse('{"__proto__": {"msg": "not mine"}, "x": 1}') as object,
    ];
    for (const fields of hostile) assert.doesNotThrow(() => log.warn(fields, "hostile"));
    assert.doesNotThrow(() =>
      log.child(hostile[0] as Record<string, unknown>).info("child of a throwing getter"),
    );
    assert.equal(mine.lines.length, hostile.length + 1);
    for (const line of mine.lines.slice(0, 4))
      assert.equal(line.logFault, "the fields of this line could not be serialized");
    assert.equal(mine.lines[0]!.msg, "hostile");
    assert.equal((mine.lines[4]!.err as { message: string }).message, "me");
    assert.equal(mine.lines[5]!.x, 1);
    assert.equal(mine.lines[5]!.msg, "hostile");
  });

  it("keeps the process alive when the reader of its output goes away (EPIPE)", async () => {
    const script = `
      const { createLogger } = await import(${JSON.stringify(new URL("./logger.ts", import.meta.url).href)});
      const log = createLogger("info");
      for (let i = 0; i < 2000; i++) {
        log.info({ i }, "line");
        await new Promise((r) => setImmediate(r));
      }
      process.stderr.write("still alive\\n");
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    assert.equal(code, 0, stderr);
    assert.match(stderr, /still alive/);
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
