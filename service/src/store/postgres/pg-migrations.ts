// Versioned PostgreSQL schema migrations, applied in order at open by one replica at a time (advisory lock);
// mend_schema_migrations records the applied versions. Same columns as the SQLite schema (row-codec.ts).
//
// Replica-ready (SCALE-OUT.md): a started step carries its owner and heartbeat, runs carry a lease; JSON
// is kept as text (byte-exact, and JSON.stringify escapes NUL, which text cannot hold); values that can be
// large are never in a b-tree key (tool-call arguments are keyed by their md5).

/** Each entry migrates from version i to i+1. Never edit a released entry: append a new one. */
export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    goal TEXT,
    policy TEXT,
    policy_version TEXT,
    metadata TEXT,
    tools TEXT,
    model TEXT,
    output TEXT,
    failure TEXT,
    waiting_for TEXT,
    iterations INTEGER NOT NULL DEFAULT 0,
    implicit BOOLEAN NOT NULL DEFAULT FALSE,
    idempotency_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at BIGINT
  );
  CREATE UNIQUE INDEX runs_idem ON runs (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX runs_tenant_created ON runs (tenant, created_at DESC, id DESC);
  CREATE INDEX runs_status ON runs (status);

  CREATE TABLE steps (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    input TEXT,
    output TEXT,
    failure TEXT,
    cached BOOLEAN NOT NULL DEFAULT FALSE,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    usage TEXT,
    remediation TEXT,
    audit TEXT,
    owner TEXT,
    heartbeat_at BIGINT,
    PRIMARY KEY (run_id, seq),
    UNIQUE (run_id, key)
  );
  CREATE INDEX steps_started ON steps (owner) WHERE status = 'started';

  CREATE TABLE tool_calls (
    run_id TEXT NOT NULL,
    step_seq INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    tool TEXT NOT NULL,
    args_json TEXT NOT NULL,
    args_md5 TEXT GENERATED ALWAYS AS (md5(args_json)) STORED,
    occurrence INTEGER NOT NULL,
    status TEXT NOT NULL,
    output TEXT,
    failure TEXT,
    ms DOUBLE PRECISION NOT NULL,
    cached BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (run_id, step_seq, tool, args_md5, occurrence)
  );

  CREATE TABLE checkpoints (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, key)
  );

  CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    at BIGINT NOT NULL
  );
  CREATE INDEX events_run ON events (run_id, id);

  CREATE TABLE cache_entries (
    tenant TEXT NOT NULL,
    tool TEXT NOT NULL,
    version TEXT NOT NULL,
    args_hash TEXT NOT NULL,
    value TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    hits BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, tool, version, args_hash)
  );
  CREATE INDEX cache_lru ON cache_entries (last_used_at);
  CREATE INDEX cache_expiry ON cache_entries (expires_at);
  CREATE TABLE cache_counters (
    tenant TEXT PRIMARY KEY,
    hits BIGINT NOT NULL DEFAULT 0,
    misses BIGINT NOT NULL DEFAULT 0
  );
  -- The cache's byte total, kept by a trigger (eviction never sums the table). Every writer of cache
  -- entries locks this row first, so cache writes never deadlock.
  CREATE TABLE cache_total (id INTEGER PRIMARY KEY CHECK (id = 1), bytes BIGINT NOT NULL);
  INSERT INTO cache_total (id, bytes) VALUES (1, 0);
  CREATE FUNCTION mend_cache_total() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      UPDATE cache_total SET bytes = bytes + NEW.size_bytes WHERE id = 1;
    ELSIF TG_OP = 'DELETE' THEN
      UPDATE cache_total SET bytes = bytes - OLD.size_bytes WHERE id = 1;
    ELSE
      UPDATE cache_total SET bytes = bytes + NEW.size_bytes - OLD.size_bytes WHERE id = 1;
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER cache_total_track AFTER INSERT OR DELETE OR UPDATE OF size_bytes ON cache_entries
    FOR EACH ROW EXECUTE FUNCTION mend_cache_total();

  CREATE TABLE blobs (
    tenant TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, sha256)
  );
  -- The bytes themselves (PostgresBlobStore): any replica serves any artifact.
  CREATE TABLE blob_contents (
    sha256 TEXT PRIMARY KEY,
    content BYTEA NOT NULL,
    size_bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
  );

  CREATE TABLE tools (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    secret TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, name)
  );

  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    policy TEXT NOT NULL,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
  );

  CREATE TABLE probe (id INTEGER PRIMARY KEY CHECK (id = 1), at BIGINT NOT NULL);
  `,
  // Replicas on one database: each process's heartbeat (liveness of its leases, steps and cache fill marks),
  // the marks of cache keys being filled, and the indexes of the heartbeat and the takeover sweep.
  `
  CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    heartbeat_at BIGINT NOT NULL,
    ttl_ms BIGINT NOT NULL,
    started_at BIGINT NOT NULL
  );
  CREATE TABLE cache_fills (
    tenant TEXT NOT NULL,
    tool TEXT NOT NULL,
    version TEXT NOT NULL,
    args_hash TEXT NOT NULL,
    owner TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (tenant, tool, version, args_hash)
  );
  CREATE INDEX runs_lease_owner ON runs (lease_owner) WHERE lease_owner IS NOT NULL;
  CREATE INDEX runs_hosted_running ON runs (created_at) WHERE status = 'running' AND mode = 'hosted';
  `,
];
