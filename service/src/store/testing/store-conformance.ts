// The Store conformance suite: every method's contract, registered by each implementation in a few lines.
//
// Pinned (every implementation):
// - runs: creation as given; idempotency key per tenant (one run even when sent concurrently); tenant
//   scoping of getRun/listRuns; newest-first paging without repeats or gaps; InvalidCursorError for a foreign
//   cursor; updates of the patched fields only; NotFoundError for a missing run; runsByStatus across tenants.
// - leases: acquire, refuse, renew, expiry, replaceOwner, release by the holder only; updateRun fenced to
//   the lease holder (FencedError, nothing written).
// - steps: atomic claimStep (one row per key across connections, attempts 1..n, gapless seq); re-claim of
//   started/interrupted = attempt + 1 keeping the first input; finished returned as is; owned by a live
//   owner → "owned"; endStep fencing by attempt; NotFoundError; interruptStartedSteps (per owner);
//   heartbeats; a claim that ends the step too (NewStep.end: one write, both events, quota refusal).
// - seqs: 1, 2, 3… per run with claims alternating over two connections, after a rolled-back claim (in a
//   batch or alone), and after a fork's copied steps.
// - tool calls (ordered, replaced by key), checkpoints (last value), events (increasing ids, afterId).
// - cache: TTL, per-tenant keys, LRU inside the writing tenant's partition under a global and a per-tenant
//   byte cap, with exact byte totals, stats, clearing.
// - usage: exact journal/blob/cache bytes per tenant; quotas checked inside the writes (QuotaExceededError,
//   nothing written; a failed end and a run's final status exempt); concurrent claims never pass a quota.
// - forks: finished steps before atSeq copied as replayed entries (origin kept for forks of forks), tool
//   calls with them, a run.forked event, idempotency, tenant scoping, listRuns by parentRunId.
// - blob refs, tools, API keys; ping; NUL in text refused with UnstorableValueError.
// - versions of the tools and the API keys: stable while nothing changes, moved at once by this handle's
//   writes (and again after one pending while read), by another handle's once the store learned of it.
// - replicas: heartbeats renew leases and step heartbeats (a lapsed one stays lapsed) and count the live
//   replicas; retirement hands leases and steps over at once; the takeover sweep's query; claims fenced by a
//   lease; cache fill marks held by live replicas only.
// Storage faults have their own suite (store-fault-suite.ts), the blob store its own (blob-store-conformance.ts).
import type { TestApi } from "@mend/sandboxes/testing";
import { suiteContext, type StoreFactory } from "./conformance-kit.ts";
import { runsSuite } from "./conformance-runs.ts";
import { stepsSuite } from "./conformance-steps.ts";
import { seqsSuite } from "./conformance-seqs.ts";
import { stepEndSuite } from "./conformance-step-end.ts";
import { cacheSuite } from "./conformance-cache.ts";
import { usageSuite } from "./conformance-usage.ts";
import { forksSuite } from "./conformance-forks.ts";
import { replicasSuite } from "./conformance-replicas.ts";
import { oneOffSuite } from "./conformance-one-off.ts";
import { versionsSuite } from "./conformance-versions.ts";

export type { StoreFactory, StoreHandle } from "./conformance-kit.ts";

/**
 * Registers the conformance tests of one Store implementation with the given test framework.
 * `factory` makes a fresh, empty store for each test. `skip` (a reason) registers the suite as skipped.
 *
 * @example
 * import * as t from "node:test";
 * runStoreConformance(t, "sqlite", async () => {
 *   const dir = mkdtempSync(join(tmpdir(), "s-"));
 *   const path = join(dir, "mend.db");
 *   return { store: SqliteStore.open(path), open: async () => SqliteStore.open(path), destroy: async () => rmSync(dir, { recursive: true }) };
 * });
 */
export function runStoreConformance(t: TestApi, name: string, factory: StoreFactory, skip?: string): void {
  t.describe(`store conformance: ${name}`, { skip }, () => {
    const ctx = suiteContext(t, factory);
    runsSuite(ctx);
    stepsSuite(ctx);
    seqsSuite(ctx);
    stepEndSuite(ctx);
    cacheSuite(ctx);
    usageSuite(ctx);
    forksSuite(ctx);
    replicasSuite(ctx);
    oneOffSuite(ctx);
    versionsSuite(ctx);
  });
}
