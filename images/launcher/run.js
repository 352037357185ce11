// Hosts the user's Node code: started early by launch.py, waits for the job on its control fd, runs
// /workspace/main.js (CommonJS or ESM) and reports an uncaught error on its result fd.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { pathToFileURL } = require("node:url");

const ctlFd = Number(process.env.MEND_CONTROL_FD);
const resFd = Number(process.env.MEND_RESULT_FD);
delete process.env.MEND_CONTROL_FD;
delete process.env.MEND_RESULT_FD;
const MAX_TEXT = 4000;
const NET_CODES = new Set(["ENETUNREACH", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN", "EADDRNOTAVAIL"]);
let reported = false;

function readAll(fd) {
  const chunks = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n = 0;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if (e.code === "EAGAIN") continue;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  fs.closeSync(fd);
  return Buffer.concat(chunks).toString("utf8");
}

function userFrames(stack) {
  const frames = [];
  for (const m of String(stack).matchAll(
    /(?:at (?:(.*?) \()?)(?:file:\/\/)?(\/workspace\/[^:)\s]+):(\d+):(\d+)\)?/g,
  )) {
    frames.push({
      file: path.relative("/workspace", m[2]),
      line: Number(m[3]),
      column: Number(m[4]),
      name: m[1] || "<module>",
    });
  }
  return frames.slice(0, 20);
}

function syntaxLocation(err, mainPath) {
  // CJS errors carry "file:line\n code\n   ^" at the top of the stack; ESM ones don't, so ask `node --check`.
  let text = String(err && err.stack);
  let m = /^(?:file:\/\/)?(\/workspace\/[^:\n]+):(\d+)\n([^\n]*)\n( *)\^/.exec(text);
  if (!m) {
    const r = spawnSync(process.execPath, ["--check", mainPath], { encoding: "utf8", timeout: 5000 });
    text = String(r.stderr || "");
    m = /(?:file:\/\/)?(\/workspace\/[^:\n]+):(\d+)\n([^\n]*)\n( *)\^/.exec(text);
  }
  if (!m) return {};
  return { file: path.relative("/workspace", m[1]), line: Number(m[2]), column: m[4].length + 1 };
}

function classify(err) {
  const seen = [];
  for (let e = err; e && typeof e === "object" && seen.length < 16 && !seen.includes(e); e = e.cause)
    seen.push(e);
  for (const e of seen) {
    if (e.code === "MODULE_NOT_FOUND" || e.code === "ERR_MODULE_NOT_FOUND") return "missing_dependency";
  }
  if (err instanceof SyntaxError) return "syntax_error";
  if (err instanceof RangeError && /Maximum call stack size exceeded/.test(String(err.message)))
    return "stack_overflow";
  for (const e of seen) {
    if (e.code === "ENOSPC" || e.errno === -28) return "disk_full";
    if (e.code === "EAGAIN" && /spawn|fork/i.test(String(e.syscall || e.message))) return "pids_limit";
    if (NET_CODES.has(e.code)) return "network_denied";
    if (e.code === "ECONNREFUSED" && e.address && !/^(127\.|::1$|localhost)/.test(String(e.address)))
      return "network_denied";
    if (/fetch failed/.test(String(e.message)) && e.cause) continue;
  }
  if (/out of memory|heap limit/i.test(String(err && err.message))) return "out_of_memory";
  return "runtime_error";
}

function moduleName(err) {
  const m = /Cannot find (?:module|package) '([^']+)'/.exec(String(err && err.message));
  if (!m) return undefined;
  const spec = m[1];
  if (spec.startsWith("/") || spec.startsWith(".")) return spec;
  return spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
}

function report(err, mainPath) {
  if (reported) return;
  reported = true;
  const isErr = err instanceof Error;
  const kind = classify(err);
  const info = {
    kind,
    type: isErr ? err.name || "Error" : typeof err,
    message: String(isErr ? err.message : err).slice(0, MAX_TEXT),
    frames: userFrames(isErr ? err.stack : ""),
    stack: String(isErr ? err.stack : err).slice(0, MAX_TEXT),
  };
  if (kind === "syntax_error") Object.assign(info, syntaxLocation(err, mainPath));
  else if (info.frames.length > 0) info.line = info.frames[0].line;
  if (kind === "missing_dependency") info.module = moduleName(err);
  if (isErr && err.code) info.code = String(err.code);
  try {
    fs.writeSync(resFd, JSON.stringify(info).slice(0, 60000));
  } catch {
    // the launcher is gone; nothing to report to
  }
  try {
    process.stderr.write(String(isErr ? err.stack : err) + "\n");
  } catch {
    // stderr closed
  }
}

function main() {
  const job = JSON.parse(readAll(ctlFd));
  const mainPath = job.main;
  process.chdir("/workspace");
  Object.assign(process.env, job.env || {});
  process.argv = [process.execPath, mainPath, ...(job.argv || [])];
  const fail = (err) => {
    report(err, mainPath);
    process.exitCode = 1;
    process.exit(1);
  };
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", fail);
  try {
    require(mainPath);
  } catch (err) {
    if (err && err.code === "ERR_REQUIRE_ASYNC_MODULE") {
      import(pathToFileURL(mainPath).href).catch(fail);
      return;
    }
    fail(err);
  }
}

main();
