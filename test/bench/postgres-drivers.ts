// Micro-benchmark behind the PostgreSQL store's driver choice: `pg` vs `postgres` (postgres.js) on the
// journal's statements (claim, end, tool-call insert, event append, point read) against a local server.
import pg from "pg";
import postgres from "postgres";
import { freshDatabase, postgresServer } from "../support/postgres-server.ts";
import { summarize, type Row } from "./stats.ts";

const SCHEMA = `
  CREATE TABLE runs (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, status TEXT NOT NULL);
  CREATE TABLE steps (run_id TEXT NOT NULL REFERENCES runs(id), seq INTEGER NOT NULL, key TEXT NOT NULL,
    status TEXT NOT NULL, attempt INTEGER NOT NULL, input TEXT, output TEXT, started_at BIGINT NOT NULL,
    ended_at BIGINT, PRIMARY KEY (run_id, seq), UNIQUE (run_id, key));
  CREATE TABLE tool_calls (run_id TEXT NOT NULL, step_seq INTEGER NOT NULL, seq INTEGER NOT NULL, tool TEXT NOT NULL,
    args_json TEXT NOT NULL, status TEXT NOT NULL, output TEXT, PRIMARY KEY (run_id, step_seq, seq));
  CREATE TABLE events (id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, at BIGINT NOT NULL);
  CREATE INDEX events_run ON events (run_id, id);`;

const SQL = {
  lockRun: "SELECT id FROM runs WHERE id = $1 FOR NO KEY UPDATE",
  getStep: "SELECT * FROM steps WHERE run_id = $1 AND key = $2",
  insertStep: `INSERT INTO steps (run_id, seq, key, status, attempt, input, started_at)
    VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE run_id = $1), $2, 'started', 1, $3, $4) RETURNING *`,
  endStep: `UPDATE steps SET status = 'succeeded', output = $3, ended_at = $4
    WHERE run_id = $1 AND seq = $2 AND status = 'started' RETURNING *`,
  toolCall: `INSERT INTO tool_calls (run_id, step_seq, seq, tool, args_json, status, output) VALUES ($1, $2, $3, 'echo', $4, 'succeeded', $5)
    ON CONFLICT (run_id, step_seq, seq) DO UPDATE SET output = excluded.output`,
  event: "INSERT INTO events (run_id, type, data, at) VALUES ($1, $2, $3, $4) RETURNING id",
};

/** The five journal operations over one driver; `claim` is the transaction the store runs. */
interface Journal {
  claim(run: string, key: string, input: string): Promise<number>;
  end(run: string, seq: number): Promise<void>;
  toolCall(run: string, seq: number, n: number): Promise<void>;
  event(run: string, n: number): Promise<void>;
  read(run: string, key: string): Promise<void>;
  close(): Promise<void>;
}

function pgJournal(url: string, poolSize: number): Journal {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  const q = (name: string, text: string, values: unknown[]) => pool.query({ name, text, values });
  return {
    async claim(run, key, input) {
      const c = await pool.connect();
      try {
        await c.query("BEGIN");
        await c.query({ name: "lockRun", text: SQL.lockRun, values: [run] });
        await c.query({ name: "getStep", text: SQL.getStep, values: [run, key] });
        const r = await c.query<{ seq: number }>({
          name: "insertStep",
          text: SQL.insertStep,
          values: [run, key, input, Date.now()],
        });
        await c.query("COMMIT");
        return r.rows[0]!.seq;
      } catch (e) {
        await c.query("ROLLBACK");
        throw e;
      } finally {
        c.release();
      }
    },
    async end(run, seq) {
      await q("endStep", SQL.endStep, [run, seq, '{"result":1}', Date.now()]);
    },
    async toolCall(run, seq, n) {
      await q("toolCall", SQL.toolCall, [run, seq, n, '{"text":"hi"}', '{"text":"hi"}']);
    },
    async event(run, n) {
      await q("event", SQL.event, [run, "step.completed", `{"seq":${n}}`, Date.now()]);
    },
    async read(run, key) {
      await q("getStep", SQL.getStep, [run, key]);
    },
    close: () => pool.end(),
  };
}

function postgresJsJournal(url: string, poolSize: number): Journal {
  const sql = postgres(url, { max: poolSize, onnotice: () => {} });
  return {
    async claim(run, key, input) {
      return sql.begin(async (tx) => {
        await tx.unsafe(SQL.lockRun, [run], { prepare: true });
        await tx.unsafe(SQL.getStep, [run, key], { prepare: true });
        const r = await tx.unsafe(SQL.insertStep, [run, key, input, Date.now()], { prepare: true });
        return Number(r[0]!.seq);
      });
    },
    async end(run, seq) {
      await sql.unsafe(SQL.endStep, [run, seq, '{"result":1}', Date.now()], { prepare: true });
    },
    async toolCall(run, seq, n) {
      await sql.unsafe(SQL.toolCall, [run, seq, n, '{"text":"hi"}', '{"text":"hi"}'], { prepare: true });
    },
    async event(run, n) {
      await sql.unsafe(SQL.event, [run, "step.completed", `{"seq":${n}}`, Date.now()], { prepare: true });
    },
    async read(run, key) {
      await sql.unsafe(SQL.getStep, [run, key], { prepare: true });
    },
    close: () => sql.end(),
  };
}

async function timed(n: number, op: (i: number) => Promise<unknown>): Promise<number[]> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await op(i);
    xs.push(performance.now() - t0);
  }
  return xs;
}

type Samples = Record<string, { xs: number[]; wallMs: number }>;

/** One round of every operation on one driver; samples are added to `into` (keyed by operation). */
async function round(
  j: Journal,
  admin: pg.Client,
  run: string,
  n: number,
  concurrency: number,
  into: Samples,
) {
  const add = (op: string, xs: number[], wallMs = xs.reduce((a, b) => a + b, 0)) => {
    const s = (into[op] ??= { xs: [], wallMs: 0 });
    s.xs.push(...xs);
    s.wallMs += wallMs;
  };
  await admin.query("INSERT INTO runs (id, tenant, status) VALUES ($1, 't', 'running')", [run]);
  const input = JSON.stringify({ code: "return 1", limits: { memoryMb: 32 } });
  const seqs: number[] = [];
  add(
    "claim (tx: lock run, read, insert)",
    await timed(n, async (i) => seqs.push(await j.claim(run, `k${i}`, input))),
  );
  add("end (UPDATE … RETURNING)", await timed(n, (i) => j.end(run, seqs[i]!)));
  add("tool-call insert", await timed(n, (i) => j.toolCall(run, seqs[i]!, i)));
  add("event append (RETURNING id)", await timed(n, (i) => j.event(run, i)));
  add("point read", await timed(n, (i) => j.read(run, `k${i}`)));
  // Concurrent journaling: `concurrency` workers, each step claimed + ended, one run per worker.
  const workers = Array.from({ length: concurrency }, (_, w) => `${run}_w${w}`);
  for (const w of workers)
    await admin.query("INSERT INTO runs (id, tenant, status) VALUES ($1, 't', 'running')", [w]);
  const per = Math.ceil(n / concurrency);
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    workers.map(async (w) => {
      for (let i = 0; i < per; i++) {
        const s0 = performance.now();
        await j.end(w, await j.claim(w, `c${i}`, input));
        lat.push(performance.now() - s0);
      }
    }),
  );
  add(`claim + end, ${concurrency} concurrent runs`, lat, performance.now() - t0);
}

const DRIVERS = [
  ["pg", pgJournal],
  ["postgres.js", postgresJsJournal],
] as const;

/** Both drivers on one fresh database of a new local cluster, interleaved round by round. */
async function compare(label: string, options: string[], n: number, rounds: number, concurrency: number) {
  const avail = await postgresServer({ own: true, options });
  if (!avail.server) throw new Error(avail.reason);
  const server = avail.server;
  const db = await freshDatabase(server.url);
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    await admin.query(SCHEMA);
    const journals = DRIVERS.map(([name, make]) => {
      const samples: Samples = {};
      return { name, j: make(db.url, concurrency), samples };
    });
    // Warm-up: connections, prepared statements, the server's caches.
    for (const d of journals) await round(d.j, admin, `warm_${d.name.replace(/\W/g, "")}`, 200, 4, {});
    for (let r = 0; r < rounds; r++)
      for (const d of r % 2 === 0 ? journals : [...journals].reverse())
        await round(d.j, admin, `r${r}_${d.name.replace(/\W/g, "")}`, n, concurrency, d.samples);
    const rows: Row[] = [];
    for (const op of Object.keys(journals[0]!.samples))
      for (const d of journals) {
        const s = d.samples[op]!;
        rows.push(
          summarize(`${label}, ${d.name}: ${op}`, s.xs, {
            throughputPerS: Math.round((s.xs.length / s.wallMs) * 1000),
          }),
        );
      }
    for (const d of journals) await d.j.close();
    return rows;
  } finally {
    await admin.end();
    await db.drop();
    await server.stop();
  }
}

/**
 * `pg` vs postgres.js on the journal's statements, each on a fresh local cluster: durable (fsync and
 * synchronous commit on, the production settings) and with synchronous_commit=off (the driver's own cost).
 * @example console.table(await benchPostgresDrivers(1000))
 */
export async function benchPostgresDrivers(n = 1_000, rounds = 3, concurrency = 16): Promise<Row[]> {
  return [
    ...(await compare("durable", [], n, rounds, concurrency)),
    ...(await compare("async commit", ["-c", "synchronous_commit=off"], n, rounds, concurrency)),
  ];
}

if (import.meta.main) console.table(await benchPostgresDrivers());
