// Classification of a container's signals: a recorded refused fork wins over the OOM signals.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classify, engineFailure, type ExecutionSignals } from "./classify.ts";
import { DEFAULT_CONTAINER_LIMITS } from "./docker-runner.ts";

const base: ExecutionSignals = {
  limits: DEFAULT_CONTAINER_LIMITS,
  wallMs: 10,
  timedOut: false,
  aborted: false,
  outputExceeded: false,
  stdoutTail: "",
  stderrTail: "",
};
const eagain = {
  kind: "pids_limit",
  type: "BlockingIOError",
  message: "[Errno 11] Resource temporarily unavailable",
};

describe("classify: fork bombs that also run out of memory", () => {
  it("the code's EAGAIN report wins over the cgroup's OOM kill count", () => {
    const f = classify({ ...base, launcher: { exitCode: 137, signal: 9, error: eagain, oomKills: 3 } });
    assert.equal(f?.kind, "pids_limit");
  });

  it("a counted EAGAIN fork wins when the first report was a MemoryError", () => {
    const memoryError = { kind: "out_of_memory", type: "MemoryError", message: "" };
    const f = classify({
      ...base,
      launcher: { exitCode: 1, signal: null, error: memoryError, forkEagain: 2 },
      hostOomKilled: true,
    });
    assert.equal(f?.kind, "pids_limit");
  });

  it("without a refused fork an OOM kill is out_of_memory, also when the host saw it", () => {
    assert.equal(
      classify({ ...base, launcher: { exitCode: 0, signal: null }, hostOomKilled: true })?.kind,
      "out_of_memory",
    );
    assert.equal(
      classify({ ...base, inspect: { found: true, exitCode: 137, oomKilled: true } })?.kind,
      "out_of_memory",
    );
  });

  it("a clean exit with no signals is a success", () => {
    assert.equal(classify({ ...base, launcher: { exitCode: 0, signal: null } }), undefined);
  });
});

describe("engineFailure", () => {
  it("names a runtime the engine does not have, and does not ask for a retry", () => {
    const f = engineFailure(
      new Error("(HTTP code 400) unexpected - unknown or invalid runtime name: runsc"),
      "python",
      "runsc",
    );
    assert.equal(f.kind, "sandbox_unavailable");
    assert.equal(f.retryable, false);
    assert.match(f.message, /'runsc' runtime/);
  });
});
