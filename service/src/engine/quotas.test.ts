// Quotas per tenant, end to end through the app on a real SQLite file and a real PostgreSQL database: a tenant past its journal quota gets
// quota_exceeded with nothing partial, every entry point answers 507, tool-call bounds, a cache flood that
// spares the quiet tenant's entries, /v1/usage equal to what the database holds, and SSE past its limit → 429.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { addTools, startInProcess, until, type InProcess } from "../../../test/support/in-process.ts";
import { startFakeLlm, type FakeLlm } from "../../../test/support/fake-llm.ts";
import { ApiKeys } from "../auth/api-keys.ts";
import pg from "pg";
import { freshDatabase, postgresServer } from "../../../test/support/postgres-server.ts";

const POLICIES = {
  default: [
    "name: default",
    'tools:\n  allow: ["**"]',
    "cache:\n  echo: { ttlSeconds: 3600 }",
    "limits: { cacheBytes: 100000000 }",
  ].join("\n"),
  // Room for a few small steps; a large input or many tool calls pass it.
  tight: [
    "name: tight",
    "extends: default",
    "limits: { journalBytes: 12000, blobBytes: 20000, toolArgsBytes: 2000, toolResultBytes: 3000, sseStreams: 2 }",
  ].join("\n"),
  quiet: "name: quiet\nextends: default\nlimits: { cacheBytes: 5000 }\n",
};

/** The queries that sum a tenant's journal bytes from the tables, independently of the counters. */
const len = (cols: string[], p: string) =>
  cols.map((c) => `COALESCE(octet_length(${p}.${c}), 0)`).join(" + ");
const JOURNAL_SUMS = [
  `SELECT SUM(${len(["goal", "metadata", "tools", "model", "output", "failure", "waiting_for", "idempotency_key"], "r")}) AS n FROM runs r WHERE r.tenant = $1`,
  `SELECT SUM(${len(["key", "input", "output", "failure", "usage", "remediation", "audit"], "s")}) AS n FROM steps s JOIN runs r ON r.id = s.run_id WHERE r.tenant = $1`,
  `SELECT SUM(${len(["tool", "args_json", "output", "failure"], "t")}) AS n FROM tool_calls t JOIN runs r ON r.id = t.run_id WHERE r.tenant = $1`,
  `SELECT SUM(${len(["key", "value"], "c")}) AS n FROM checkpoints c JOIN runs r ON r.id = c.run_id WHERE r.tenant = $1`,
];

// PostgreSQL: a cluster of the test's own (fsync off: nothing here is about durability).
const pgAvail = await postgresServer({ own: true, options: ["-c", "fsync=off"] });
after(async () => {
  if (pgAvail.server) await pgAvail.server.stop();
});

for (const backend of ["sqlite", "postgres"] as const) {
  const pgServer = backend === "postgres" ? pgAvail.server : null;
  const skip = backend === "postgres" && !pgAvail.server ? pgAvail.reason : undefined;
  describe(`quotas on ${backend}`, { skip }, () => {
    let databaseUrl: string | undefined;
    let db: { url: string; drop(): Promise<void> } | undefined;
    let svc: InProcess;
    let llm: FakeLlm;
    const auth: Record<string, Record<string, string>> = {};

    before(async () => {
      llm = await startFakeLlm({ script: () => ({ content: "done" }) });
      if (pgServer) {
        db = await freshDatabase(pgServer.url);
        databaseUrl = db.url;
      }
      svc = await startInProcess({
        policies: POLICIES,
        env: {
          ...(databaseUrl ? { MEND_DATABASE_URL: databaseUrl } : {}),
          MEND_LLM_PROVIDER: "openai",
          MEND_LLM_BASE_URL: llm.url,
          MEND_LLM_MODEL: "fake",
          // A small global cache: the flood below passes it many times over.
          MEND_CACHE_MAX_BYTES: "20000",
        },
      });
      addTools(svc.services, [
        {
          name: "big.result",
          description: "Returns a string of n characters.",
          inputSchema: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] },
          version: "1",
          idempotent: true,
          invoke: async (args) => ({ ok: true, value: "r".repeat((args as { n: number }).n) }),
        },
      ]);
      const keys = new ApiKeys(svc.services.store);
      for (const [tenant, policy] of [
        ["full", "tight"],
        ["tools", "tight"],
        ["streams", "tight"],
        ["quiet", "quiet"],
        ["loud", "default"],
        ["counted", "default"],
        ["hosted", "tight"],
        ["ends", "tight"],
      ] as const) {
        const { token } = await keys.create({ tenant, policy });
        auth[tenant] = { authorization: `Bearer ${token}` };
      }
    });
    after(async () => {
      await svc?.close();
      await llm?.close();
      await db?.drop();
    });

    const as = (tenant: string) => (method: string, path: string, body?: unknown) =>
      svc.api(method, path, body, auth[tenant]);

    /** The tenant's journal bytes as the database holds them (its own connection). */
    async function journalBytesStored(tenant: string): Promise<number> {
      let total = 0;
      if (databaseUrl === undefined) {
        const db = new DatabaseSync(join(svc.dataDir, "mend.db"), { readOnly: true });
        try {
          for (const sql of JOURNAL_SUMS)
            total += Number((db.prepare(sql.replace("$1", "?")).get(tenant) as { n: number | null }).n ?? 0);
        } finally {
          db.close();
        }
        return total;
      }
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        for (const sql of JOURNAL_SUMS) total += Number((await client.query(sql, [tenant])).rows[0]?.n ?? 0);
      } finally {
        await client.end();
      }
      return total;
    }
    /** Every step the tenant has, across its runs (implicit runs included). */
    async function stepsOf(tenant: string) {
      const runs = await svc.services.store.listRuns(tenant, { limit: 1000, includeImplicit: true });
      const steps = [];
      for (const r of runs.items) steps.push(...(await svc.services.store.listSteps(r.id)));
      return steps;
    }

    async function mcpCall(tenant: string, name: string, args: Record<string, unknown>) {
      const client = new Client({ name: "mend-quotas-test", version: "1.0.0" });
      const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
        requestInit: { headers: auth[tenant] },
        fetch: (url, init) => svc.request(String(url), init),
      });
      await client.connect(transport);
      try {
        return await client.callTool({ name, arguments: args });
      } finally {
        await client.close();
      }
    }

    function assertQuota507(r: { status: number; body: any }, quota = "journalBytes") {
      assert.equal(r.status, 507, JSON.stringify(r.body));
      assert.equal(r.body.type, "urn:mend:problem:quota_exceeded");
      assert.equal(r.body.failure.kind, "quota_exceeded");
      assert.equal(r.body.failure.layer, "policy");
      assert.equal(r.body.failure.retryable, false);
      assert.deepEqual(Object.keys(r.body.failure.limits), [quota]);
    }

    describe("a tenant past its journal quota", () => {
      it("is answered 507 quota_exceeded on executions, steps, hosted run creation and MCP, with nothing journaled", async () => {
        const full = as("full");
        const big = `return ${JSON.stringify("x".repeat(13000))}.length`;
        assertQuota507(await full("POST", "/v1/executions", { sandbox: "codemode", code: big }));
        const run = await full("POST", "/v1/runs", { mode: "client" });
        assert.equal(run.status, 201, JSON.stringify(run.body));
        assertQuota507(
          await full("POST", `/v1/runs/${run.body.id}/steps`, {
            key: "big",
            action: { type: "codemode", code: big },
          }),
        );
        assertQuota507(await full("POST", "/v1/runs", { mode: "hosted", goal: "g".repeat(13000) }));
        const viaMcp = await mcpCall("full", "run_orchestration", { code: big });
        assert.equal(viaMcp.isError, true, JSON.stringify(viaMcp));
        const text = (viaMcp.content as { text: string }[])[0]!.text;
        assert.match(text, /refused \(507 quota_exceeded\)/);
        assert.match(text, /"kind":"quota_exceeded"/);

        assert.deepEqual(await stepsOf("full"), [], "no step of any refused request was journaled");
        const usage = await full("GET", "/v1/usage");
        assert.ok(usage.body.usage.journalBytes <= 12000, JSON.stringify(usage.body));
        // Small requests are still served.
        const small = await full("POST", "/v1/executions", { sandbox: "codemode", code: "return 6 * 7" });
        assert.deepEqual([small.status, small.body.result], [200, 42], JSON.stringify(small.body));
      });

      it("fails an execution that reaches the quota with quota_exceeded, keeping only the tool calls that fit", async () => {
        const tools = as("tools");
        const run = (await tools("POST", "/v1/runs", { mode: "client" })).body.id as string;
        // Each call journals ~3 KB (arguments and result); the quota of 12 KB is reached after a few.
        const code =
          "for (let i = 0; i < 20; i++) await tools.echo({ text: String(i).padEnd(1400, '.') }); return 'never'";
        const r = await tools("POST", `/v1/runs/${run}/steps`, {
          key: "flood",
          action: { type: "codemode", code },
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.status, "failed", JSON.stringify(r.body));
        assert.equal(r.body.failure.kind, "quota_exceeded", JSON.stringify(r.body.failure));
        const step = await svc.services.store.getStep(run, "flood");
        assert.equal(step?.status, "failed", "the step ended failed (not left to re-execute)");
        const calls = await svc.services.store.listToolCalls(run, step.seq);
        assert.ok(calls.length >= 1 && calls.length < 20, `journaled calls: ${calls.length}`);
        assert.deepEqual(
          calls.map((c) => c.seq),
          calls.map((_, i) => i + 1),
          "the calls that fit, in order, and none of the refused one",
        );
        const again = await tools("POST", `/v1/runs/${run}/steps`, {
          key: "flood",
          action: { type: "codemode", code },
        });
        assert.equal(again.body.failure.kind, "quota_exceeded", "replayed as journaled");
        assert.equal(again.body.replayed, true);
      });

      it("fails tool calls over the argument and result bounds with quota_exceeded, sending and keeping nothing", async () => {
        // A tenant with room in its journal (the "tools" tenant's is full from the test above).
        const streams = as("streams");
        const id = (await streams("POST", "/v1/runs", { mode: "client" })).body.id as string;
        const fresh = as("counted");
        const run2 = (await fresh("POST", "/v1/runs", { mode: "client" })).body.id as string;
        const over = await streams("POST", `/v1/runs/${id}/steps`, {
          key: "args",
          action: { type: "tool", tool: "echo", args: { text: "a".repeat(2100) } },
        });
        assert.equal(over.body.status, "failed", JSON.stringify(over.body));
        assert.equal(over.body.failure.kind, "quota_exceeded");
        assert.deepEqual(over.body.failure.limits, { toolArgsBytes: 2000 });
        assert.equal(over.body.failure.tool, "echo");
        const result = await streams("POST", `/v1/runs/${id}/steps`, {
          key: "result",
          action: { type: "tool", tool: "big.result", args: { n: 3500 } },
        });
        assert.equal(result.body.failure.kind, "quota_exceeded", JSON.stringify(result.body));
        assert.deepEqual(result.body.failure.limits, { toolResultBytes: 3000 });
        // Under the default policy's bounds the same calls pass.
        const fine = await fresh("POST", `/v1/runs/${run2}/steps`, {
          key: "result",
          action: { type: "tool", tool: "big.result", args: { n: 3500 } },
        });
        assert.equal(fine.body.status, "succeeded", JSON.stringify(fine.body));
      });
    });

    describe("an execution whose output passes the quota", () => {
      it("ends failed with quota_exceeded, its output not stored", async () => {
        const ends = as("ends");
        const run = (await ends("POST", "/v1/runs", { mode: "client" })).body.id as string;
        // Results under 4 KiB stay in the journal: three of them pass the 12 KB quota.
        let refused: { status: number; body: any } | undefined;
        for (let i = 0; i < 5 && !refused; i++) {
          const r = await ends("POST", `/v1/runs/${run}/steps`, {
            key: `out${i}`,
            action: { type: "codemode", code: "return 'x'.repeat(3900)" },
          });
          assert.equal(r.status, 200, JSON.stringify(r.body));
          if (r.body.status === "failed") refused = r;
        }
        assert.ok(refused, "one of the executions passed the quota");
        assert.equal(refused.body.failure.kind, "quota_exceeded", JSON.stringify(refused.body));
        assert.deepEqual(refused.body.failure.limits, { journalBytes: 12000 });
        const step = await svc.services.store.getStep(run, refused.body.key as string);
        assert.deepEqual([step?.status, step?.output], ["failed", null], "the output was not stored");
        assert.ok((await svc.services.store.usage("ends")).journalBytes <= 12000 + 2048);
      });
    });

    describe("a hosted run past the quota", () => {
      it("ends failed with quota_exceeded when a step of its loop cannot be journaled", async () => {
        const hosted = as("hosted");
        // The goal fits; the first model turn's journaled input (system prompt, tools, the goal) does not.
        const created = await hosted("POST", "/v1/runs", { mode: "hosted", goal: "g".repeat(8000) });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const id = created.body.id as string;
        let run: any;
        await until(async () => {
          run = (await hosted("GET", `/v1/runs/${id}`)).body;
          return run.status !== "running";
        });
        assert.equal(run.status, "failed", JSON.stringify(run));
        assert.equal(run.failure.kind, "quota_exceeded", JSON.stringify(run.failure));
        const usage = await svc.services.store.usage("hosted");
        assert.ok(usage.journalBytes <= 12000 + 2048, `over only by the final status: ${usage.journalBytes}`);
      });
    });

    describe("the cache", () => {
      it("spares the quiet tenant's entries while another tenant floods it", async () => {
        const quiet = as("quiet");
        const loud = as("loud");
        const qrun = (await quiet("POST", "/v1/runs", { mode: "client" })).body.id as string;
        for (let i = 0; i < 3; i++) {
          const r = await quiet("POST", `/v1/runs/${qrun}/steps`, {
            key: `q${i}`,
            action: { type: "tool", tool: "echo", args: { text: `quiet ${i}` } },
          });
          assert.equal(r.body.status, "succeeded", JSON.stringify(r.body));
        }
        assert.equal((await quiet("GET", "/v1/cache/stats")).body.entries, 3);
        const lrun = (await loud("POST", "/v1/runs", { mode: "client" })).body.id as string;
        for (let i = 0; i < 60; i++) {
          const r = await loud("POST", `/v1/runs/${lrun}/steps`, {
            key: `l${i}`,
            action: { type: "tool", tool: "echo", args: { text: `${i}`.padEnd(1000, "#") } },
          });
          assert.equal(r.body.status, "succeeded", JSON.stringify(r.body));
        }
        const loudStats = (await loud("GET", "/v1/cache/stats")).body;
        assert.ok(
          loudStats.bytes <= 20000,
          `the flooder stays under the global cap: ${JSON.stringify(loudStats)}`,
        );
        assert.ok(loudStats.entries < 60, "the flooder evicted its own entries");
        assert.equal(
          (await quiet("GET", "/v1/cache/stats")).body.entries,
          3,
          "the quiet tenant kept all three",
        );
        const hit = await quiet("POST", `/v1/runs/${qrun}/steps`, {
          key: "q0-again",
          action: { type: "tool", tool: "echo", args: { text: "quiet 0" } },
        });
        assert.equal(hit.body.cached, true, JSON.stringify(hit.body));
        // Its own share (cacheBytes 5000) is enforced on its own entries.
        for (let i = 0; i < 10; i++)
          await quiet("POST", `/v1/runs/${qrun}/steps`, {
            key: `qq${i}`,
            action: { type: "tool", tool: "echo", args: { text: `${i}`.padEnd(1000, "q") } },
          });
        const qs = (await quiet("GET", "/v1/usage")).body;
        assert.ok(qs.usage.cacheBytes <= 5000, JSON.stringify(qs));
        assert.equal(qs.limits.cacheBytes, 5000);
      });
    });

    describe("GET /v1/usage", () => {
      it("equals what the database holds for the tenant, and names the policy's limits", async () => {
        const counted = as("counted");
        const run = (await counted("POST", "/v1/runs", { mode: "client", metadata: { who: "é" } })).body
          .id as string;
        await counted("POST", `/v1/runs/${run}/steps`, {
          key: "a",
          action: { type: "codemode", code: "return await tools.echo({ text: 'ü'.repeat(50) })" },
        });
        await counted("PUT", `/v1/runs/${run}/checkpoints/cp`, { value: { n: 1 } });
        await counted("POST", `/v1/runs/${run}/steps`, {
          key: "big",
          action: { type: "codemode", code: "return 'z'.repeat(10000)" },
        });
        const r = await counted("GET", "/v1/usage");
        assert.equal(r.status, 200);
        assert.equal(r.body.tenant, "counted");
        assert.equal(r.body.usage.journalBytes, await journalBytesStored("counted"));
        assert.ok(r.body.usage.blobBytes >= 10000, "the large result went to a blob, counted once");
        assert.deepEqual(r.body.limits, {
          journalBytes: 1024 * 1024 * 1024,
          blobBytes: 2048 * 1024 * 1024,
          cacheBytes: 100000000,
          toolArgsBytes: 4 * 1024 * 1024,
          toolResultBytes: 16 * 1024 * 1024,
          sseStreams: 32,
        });
        const stored = await svc.services.store.usage("counted");
        assert.deepEqual(
          [stored.journalBytes, stored.blobBytes, stored.cacheBytes],
          [r.body.usage.journalBytes, r.body.usage.blobBytes, r.body.usage.cacheBytes],
        );
      });
    });

    describe("event streams", () => {
      it("answers 429 past the tenant's sseStreams, and admits a stream again once one closes", async () => {
        const streams = as("streams");
        const run = (await streams("POST", "/v1/runs", { mode: "client" })).body.id as string;
        const open = async () => {
          const ac = new AbortController();
          const res = await svc.request(`/v1/runs/${run}/events`, {
            headers: auth.streams,
            signal: ac.signal,
          });
          return { res, ac };
        };
        const held = [await open(), await open()];
        try {
          for (const h of held) assert.equal(h.res.status, 200);
          assert.equal((await streams("GET", "/v1/usage")).body.usage.sseStreams, 2);
          const third = await open();
          assert.equal(third.res.status, 429);
          const body = (await third.res.json()) as { type: string; limits: unknown };
          assert.equal(body.type, "urn:mend:problem:rate-limited");
          assert.deepEqual(body.limits, { sseStreams: 2 });
          // Another tenant is not concerned.
          const other = await svc.request(`/v1/runs/${run}/events`, { headers: auth.counted });
          assert.equal(other.status, 404, "another tenant's run is not found, not refused for streams");
          held[0]!.ac.abort();
          await held[0]!.res.body?.cancel().catch(() => undefined);
          await until(async () => (await streams("GET", "/v1/usage")).body.usage.sseStreams === 1);
          const again = await open();
          assert.equal(again.res.status, 200);
          held.push(again);
        } finally {
          for (const h of held) {
            h.ac.abort();
            await h.res.body?.cancel().catch(() => undefined);
          }
        }
      });
    });
  });
}
