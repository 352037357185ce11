import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { anySignal } from "./any-signal.ts";

describe("anySignal", () => {
  it("aborts with the first source's reason and leaves no listener on the sources", () => {
    const a = new AbortController();
    const b = new AbortController();
    const s = anySignal([a.signal, undefined, b.signal]);
    assert.equal(s.signal.aborted, false);
    b.abort(new Error("b went"));
    assert.equal(s.signal.aborted, true);
    assert.equal((s.signal.reason as Error).message, "b went");
    a.abort(new Error("a later"));
    assert.equal((s.signal.reason as Error).message, "b went");
    assert.equal(getEventListeners(a.signal, "abort").length, 0);
  });

  it("is aborted at once when a source is, and dispose() unhooks it from live sources", () => {
    const done = new AbortController();
    done.abort(new Error("early"));
    assert.equal((anySignal([done.signal]).signal.reason as Error).message, "early");
    const live = new AbortController();
    const s = anySignal([live.signal]);
    assert.equal(getEventListeners(live.signal, "abort").length, 1);
    s.dispose();
    assert.equal(getEventListeners(live.signal, "abort").length, 0);
    live.abort();
    assert.equal(s.signal.aborted, false);
  });
});
