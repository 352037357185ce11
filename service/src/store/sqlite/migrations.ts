// Versioned schema migrations, applied in order at start-up; PRAGMA user_version records the last one.

/** Each entry migrates from version i to i+1. Never edit a released entry: append a new one. */
export const MIGRATIONS: readonly string[] = [
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
    implicit INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
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
    cached INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    usage TEXT,
    remediation TEXT,
    audit TEXT,
    PRIMARY KEY (run_id, seq),
    UNIQUE (run_id, key)
  );
  CREATE INDEX steps_status ON steps (status);

  CREATE TABLE tool_calls (
    run_id TEXT NOT NULL,
    step_seq INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    tool TEXT NOT NULL,
    args_json TEXT NOT NULL,
    occurrence INTEGER NOT NULL,
    status TEXT NOT NULL,
    output TEXT,
    failure TEXT,
    ms REAL NOT NULL,
    cached INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, step_seq, tool, args_json, occurrence)
  );

  CREATE TABLE checkpoints (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, key)
  );

  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    at INTEGER NOT NULL
  );
  CREATE INDEX events_run ON events (run_id, id);

  CREATE TABLE cache_entries (
    tenant TEXT NOT NULL,
    tool TEXT NOT NULL,
    version TEXT NOT NULL,
    args_hash TEXT NOT NULL,
    value TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, tool, version, args_hash)
  );
  CREATE INDEX cache_lru ON cache_entries (last_used_at);
  CREATE TABLE cache_counters (
    tenant TEXT PRIMARY KEY,
    hits INTEGER NOT NULL DEFAULT 0,
    misses INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE blobs (
    tenant TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, sha256)
  );

  CREATE TABLE tools (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    secret TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, name)
  );

  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    policy TEXT NOT NULL,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  `,
  `
  ALTER TABLE runs ADD COLUMN lease_owner TEXT;
  ALTER TABLE runs ADD COLUMN lease_expires_at INTEGER;
  `,
  // The cache's byte total, kept by triggers (so eviction does not SUM the table on every write).
  `
  CREATE INDEX cache_expiry ON cache_entries (expires_at);
  CREATE TABLE cache_total (id INTEGER PRIMARY KEY CHECK (id = 1), bytes INTEGER NOT NULL);
  INSERT INTO cache_total (id, bytes) VALUES (1, (SELECT COALESCE(SUM(size_bytes), 0) FROM cache_entries));
  CREATE TRIGGER cache_total_insert AFTER INSERT ON cache_entries
    BEGIN UPDATE cache_total SET bytes = bytes + NEW.size_bytes WHERE id = 1; END;
  CREATE TRIGGER cache_total_delete AFTER DELETE ON cache_entries
    BEGIN UPDATE cache_total SET bytes = bytes - OLD.size_bytes WHERE id = 1; END;
  CREATE TRIGGER cache_total_update AFTER UPDATE OF size_bytes ON cache_entries
    BEGIN UPDATE cache_total SET bytes = bytes + NEW.size_bytes - OLD.size_bytes WHERE id = 1; END;
  `,
  // Replica-ready steps (SCALE-OUT.md invariant 2): the owner of the current attempt and its heartbeat; and
  // the row the health check writes (a store is healthy when it can commit a write).
  `
  ALTER TABLE steps ADD COLUMN owner TEXT;
  ALTER TABLE steps ADD COLUMN heartbeat_at INTEGER;
  CREATE INDEX steps_owner ON steps (owner) WHERE status = 'started';
  CREATE TABLE probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);
  `,
  // Replicas on one database: each process's heartbeat (liveness of its leases, steps and cache fill marks),
  // the marks of cache keys being filled, and the indexes of the heartbeat and the takeover sweep.
  `
  CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    heartbeat_at INTEGER NOT NULL,
    ttl_ms INTEGER NOT NULL,
    started_at INTEGER NOT NULL
  );
  CREATE TABLE cache_fills (
    tenant TEXT NOT NULL,
    tool TEXT NOT NULL,
    version TEXT NOT NULL,
    args_hash TEXT NOT NULL,
    owner TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (tenant, tool, version, args_hash)
  );
  CREATE INDEX runs_lease_owner ON runs (lease_owner) WHERE lease_owner IS NOT NULL;
  CREATE INDEX runs_hosted_running ON runs (created_at) WHERE status = 'running' AND mode = 'hosted';
  `,
];
