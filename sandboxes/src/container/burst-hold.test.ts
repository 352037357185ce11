// BurstHold: background engine work waits until the jobs in flight have drained, never longer than asked.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BurstHold } from "./burst-hold.ts";

/** Whether `p` has settled once the microtasks queued so far have run. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

void test("quiet() resolves at once when no job is in flight", async () => {
  const hold = new BurstHold();
  assert.equal(hold.inFlight, 0);
  assert.equal(await settled(hold.quiet(60_000)), true);
});

void test("quiet() waits until the last job of a burst ended", async () => {
  const hold = new BurstHold();
  const a = hold.begin();
  const b = hold.begin();
  assert.equal(hold.inFlight, 2);
  const q = hold.quiet(60_000);
  a();
  assert.equal(await settled(q), false, "one job still runs");
  a(); // ending twice counts once
  assert.equal(hold.inFlight, 1);
  assert.equal(await settled(q), false);
  b();
  assert.equal(hold.inFlight, 0);
  assert.equal(await settled(q), true);
});

void test("quiet() gives up waiting after maxMs (a long job does not starve refills)", async () => {
  const hold = new BurstHold();
  const end = hold.begin();
  await hold.quiet(1); // resolves although the job still runs
  assert.equal(hold.inFlight, 1);
  end();
});

void test("release() lets every waiter go (dispose)", async () => {
  const hold = new BurstHold();
  const end = hold.begin();
  const waiters = [hold.quiet(60_000), hold.quiet(60_000)];
  hold.release();
  assert.deepEqual(await Promise.all(waiters.map(settled)), [true, true]);
  end();
});

void test("once a wait has run out, later waits resolve at once until the jobs in flight have all ended (a long job is not a burst)", async () => {
  const hold = new BurstHold();
  const long = hold.begin();
  await hold.quiet(1); // ran out: the long job still runs
  assert.equal(await settled(hold.quiet(60_000)), true, "no second wait beside the same long job");
  const short = hold.begin();
  assert.equal(await settled(hold.quiet(60_000)), true, "still off: the engine has not drained");
  short();
  long();
  // drained once: the next burst is held again
  const next = hold.begin();
  const q = hold.quiet(60_000);
  assert.equal(await settled(q), false);
  next();
  assert.equal(await settled(q), true);
});
