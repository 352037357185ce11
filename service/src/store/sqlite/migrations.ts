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
  // Where a run came from (GET /v1/runs?origin=): earlier runs are backfilled from implicit and mode.
  `
  ALTER TABLE runs ADD COLUMN origin TEXT NOT NULL DEFAULT 'client';
  UPDATE runs SET origin = CASE WHEN implicit = 1 THEN 'one-off' WHEN mode = 'hosted' THEN 'hosted' ELSE 'client' END;
  CREATE INDEX runs_tenant_origin ON runs (tenant, origin, created_at);
  `,
  // Quotas per tenant: what each tenant stores, kept by triggers in the same transaction as every write that
  // grows it, and the check inside that same statement (RAISE aborts the statement: nothing of it is
  // written). A tenant's row exists once a quota was set (setQuota), so the check sits in the upsert's
  // UPDATE branch. The ends that journal a refusal (a step failed or interrupted, a run's final status)
  // are not checked.
  `
  CREATE TABLE tenant_usage (
    tenant TEXT PRIMARY KEY NOT NULL,
    journal_bytes INTEGER NOT NULL DEFAULT 0,
    blob_bytes INTEGER NOT NULL DEFAULT 0,
    cache_bytes INTEGER NOT NULL DEFAULT 0,
    journal_limit INTEGER,
    blob_limit INTEGER
  );
  CREATE INDEX cache_tenant_lru ON cache_entries (tenant, last_used_at);
  INSERT INTO tenant_usage (tenant, journal_bytes) SELECT tenant, SUM(COALESCE(octet_length(goal), 0) + COALESCE(octet_length(metadata), 0) + COALESCE(octet_length(tools), 0) + COALESCE(octet_length(model), 0) + COALESCE(octet_length(output), 0) + COALESCE(octet_length(failure), 0) + COALESCE(octet_length(waiting_for), 0) + COALESCE(octet_length(idempotency_key), 0)) FROM runs GROUP BY tenant
    ON CONFLICT (tenant) DO UPDATE SET journal_bytes = journal_bytes + excluded.journal_bytes;
  INSERT INTO tenant_usage (tenant, journal_bytes) SELECT r.tenant, SUM(COALESCE(octet_length(s.key), 0) + COALESCE(octet_length(s.input), 0) + COALESCE(octet_length(s.output), 0) + COALESCE(octet_length(s.failure), 0) + COALESCE(octet_length(s.usage), 0) + COALESCE(octet_length(s.remediation), 0) + COALESCE(octet_length(s.audit), 0)) FROM steps s JOIN runs r ON r.id = s.run_id GROUP BY r.tenant
    ON CONFLICT (tenant) DO UPDATE SET journal_bytes = journal_bytes + excluded.journal_bytes;
  INSERT INTO tenant_usage (tenant, journal_bytes) SELECT r.tenant, SUM(COALESCE(octet_length(t.tool), 0) + COALESCE(octet_length(t.args_json), 0) + COALESCE(octet_length(t.output), 0) + COALESCE(octet_length(t.failure), 0)) FROM tool_calls t JOIN runs r ON r.id = t.run_id GROUP BY r.tenant
    ON CONFLICT (tenant) DO UPDATE SET journal_bytes = journal_bytes + excluded.journal_bytes;
  INSERT INTO tenant_usage (tenant, journal_bytes) SELECT r.tenant, SUM(COALESCE(octet_length(c.key), 0) + COALESCE(octet_length(c.value), 0)) FROM checkpoints c JOIN runs r ON r.id = c.run_id GROUP BY r.tenant
    ON CONFLICT (tenant) DO UPDATE SET journal_bytes = journal_bytes + excluded.journal_bytes;
  INSERT INTO tenant_usage (tenant, blob_bytes) SELECT tenant, SUM(size_bytes) FROM blobs GROUP BY tenant
    ON CONFLICT (tenant) DO UPDATE SET blob_bytes = blob_bytes + excluded.blob_bytes;
  INSERT INTO tenant_usage (tenant, cache_bytes) SELECT tenant, SUM(size_bytes) FROM cache_entries GROUP BY tenant
    ON CONFLICT (tenant) DO UPDATE SET cache_bytes = cache_bytes + excluded.cache_bytes;
  CREATE TRIGGER usage_steps_insert AFTER INSERT ON steps BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT tenant, COALESCE(octet_length(NEW.key), 0) + COALESCE(octet_length(NEW.input), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0) + COALESCE(octet_length(NEW.usage), 0) + COALESCE(octet_length(NEW.remediation), 0) + COALESCE(octet_length(NEW.audit), 0) FROM runs WHERE id = NEW.run_id
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = CASE WHEN excluded.journal_bytes > 0 AND journal_limit IS NOT NULL AND journal_bytes + excluded.journal_bytes > journal_limit
        THEN RAISE(ABORT, 'mend_quota_exceeded:journalBytes') ELSE journal_bytes + excluded.journal_bytes END;
  END;
  CREATE TRIGGER usage_steps_update AFTER UPDATE OF key, input, output, failure, usage, remediation, audit ON steps BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT tenant, (COALESCE(octet_length(NEW.key), 0) + COALESCE(octet_length(NEW.input), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0) + COALESCE(octet_length(NEW.usage), 0) + COALESCE(octet_length(NEW.remediation), 0) + COALESCE(octet_length(NEW.audit), 0)) - (COALESCE(octet_length(OLD.key), 0) + COALESCE(octet_length(OLD.input), 0) + COALESCE(octet_length(OLD.output), 0) + COALESCE(octet_length(OLD.failure), 0) + COALESCE(octet_length(OLD.usage), 0) + COALESCE(octet_length(OLD.remediation), 0) + COALESCE(octet_length(OLD.audit), 0)) FROM runs WHERE id = NEW.run_id
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = CASE WHEN excluded.journal_bytes > 0 AND NEW.status IN ('started', 'succeeded') AND journal_limit IS NOT NULL AND journal_bytes + excluded.journal_bytes > journal_limit
        THEN RAISE(ABORT, 'mend_quota_exceeded:journalBytes') ELSE journal_bytes + excluded.journal_bytes END;
  END;
  CREATE TRIGGER usage_steps_delete AFTER DELETE ON steps BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT tenant, -(COALESCE(octet_length(OLD.key), 0) + COALESCE(octet_length(OLD.input), 0) + COALESCE(octet_length(OLD.output), 0) + COALESCE(octet_length(OLD.failure), 0) + COALESCE(octet_length(OLD.usage), 0) + COALESCE(octet_length(OLD.remediation), 0) + COALESCE(octet_length(OLD.audit), 0)) FROM runs WHERE id = OLD.run_id
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = journal_bytes + excluded.journal_bytes;
  END;
  CREATE TRIGGER usage_tool_calls_insert AFTER INSERT ON tool_calls BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT tenant, COALESCE(octet_length(NEW.tool), 0) + COALESCE(octet_length(NEW.args_json), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0) FROM runs WHERE id = NEW.run_id
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = CASE WHEN excluded.journal_bytes > 0 AND journal_limit IS NOT NULL AND journal_bytes + excluded.journal_bytes > journal_limit
        THEN RAISE(ABORT, 'mend_quota_exceeded:journalBytes') ELSE journal_bytes + excluded.journal_bytes END;
  END;
  CREATE TRIGGER usage_tool_calls_update AFTER UPDATE OF tool, args_json, output, failure ON tool_calls BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT tenant, (COALESCE(octet_length(NEW.tool), 0) + COALESCE(octet_length(NEW.args_json), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0)) - (COALESCE(octet_length(OLD.tool), 0) + COALESCE(octet_length(OLD.args_json), 0) + COALESCE(octet_length(OLD.output), 0) + COALESCE(octet_length(OLD.failure), 0)) FROM runs WHERE id = NEW.run_id
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = CASE WHEN excluded.journal_bytes > 0 AND journal_limit IS NOT NULL AND journal_bytes + excluded.journal_bytes > journal_limit
        THEN RAISE(ABORT, 'mend_quota_exceeded:journalBytes') ELSE journal_bytes + excluded.journal_bytes END;
  END;
  CREATE TRIGGER usage_tool_calls_delete AFTER DELETE ON tool_calls BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT tenant, -(COALESCE(octet_length(OLD.tool), 0) + COALESCE(octet_length(OLD.args_json), 0) + COALESCE(octet_length(OLD.output), 0) + COALESCE(octet_length(OLD.failure), 0)) FROM runs WHERE id = OLD.run_id
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = journal_bytes + excluded.journal_bytes;
  END;
  CREATE TRIGGER usage_checkpoints_insert AFTER INSERT ON checkpoints BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT tenant, COALESCE(octet_length(NEW.key), 0) + COALESCE(octet_length(NEW.value), 0) FROM runs WHERE id = NEW.run_id
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = CASE WHEN excluded.journal_bytes > 0 AND journal_limit IS NOT NULL AND journal_bytes + excluded.journal_bytes > journal_limit
        THEN RAISE(ABORT, 'mend_quota_exceeded:journalBytes') ELSE journal_bytes + excluded.journal_bytes END;
  END;
  CREATE TRIGGER usage_checkpoints_update AFTER UPDATE OF key, value ON checkpoints BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT tenant, (COALESCE(octet_length(NEW.key), 0) + COALESCE(octet_length(NEW.value), 0)) - (COALESCE(octet_length(OLD.key), 0) + COALESCE(octet_length(OLD.value), 0)) FROM runs WHERE id = NEW.run_id
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = CASE WHEN excluded.journal_bytes > 0 AND journal_limit IS NOT NULL AND journal_bytes + excluded.journal_bytes > journal_limit
        THEN RAISE(ABORT, 'mend_quota_exceeded:journalBytes') ELSE journal_bytes + excluded.journal_bytes END;
  END;
  CREATE TRIGGER usage_checkpoints_delete AFTER DELETE ON checkpoints BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT tenant, -(COALESCE(octet_length(OLD.key), 0) + COALESCE(octet_length(OLD.value), 0)) FROM runs WHERE id = OLD.run_id
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = journal_bytes + excluded.journal_bytes;
  END;
  CREATE TRIGGER usage_runs_insert AFTER INSERT ON runs BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT NEW.tenant, COALESCE(octet_length(NEW.goal), 0) + COALESCE(octet_length(NEW.metadata), 0) + COALESCE(octet_length(NEW.tools), 0) + COALESCE(octet_length(NEW.model), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0) + COALESCE(octet_length(NEW.waiting_for), 0) + COALESCE(octet_length(NEW.idempotency_key), 0) WHERE true
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = CASE WHEN excluded.journal_bytes > 0 AND journal_limit IS NOT NULL AND journal_bytes + excluded.journal_bytes > journal_limit
        THEN RAISE(ABORT, 'mend_quota_exceeded:journalBytes') ELSE journal_bytes + excluded.journal_bytes END;
  END;
  CREATE TRIGGER usage_runs_update AFTER UPDATE OF goal, metadata, tools, model, output, failure, waiting_for, idempotency_key ON runs BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT NEW.tenant, (COALESCE(octet_length(NEW.goal), 0) + COALESCE(octet_length(NEW.metadata), 0) + COALESCE(octet_length(NEW.tools), 0) + COALESCE(octet_length(NEW.model), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0) + COALESCE(octet_length(NEW.waiting_for), 0) + COALESCE(octet_length(NEW.idempotency_key), 0)) - (COALESCE(octet_length(OLD.goal), 0) + COALESCE(octet_length(OLD.metadata), 0) + COALESCE(octet_length(OLD.tools), 0) + COALESCE(octet_length(OLD.model), 0) + COALESCE(octet_length(OLD.output), 0) + COALESCE(octet_length(OLD.failure), 0) + COALESCE(octet_length(OLD.waiting_for), 0) + COALESCE(octet_length(OLD.idempotency_key), 0)) WHERE true
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = CASE WHEN excluded.journal_bytes > 0 AND NEW.status IN ('running', 'waiting_for_input') AND journal_limit IS NOT NULL AND journal_bytes + excluded.journal_bytes > journal_limit
        THEN RAISE(ABORT, 'mend_quota_exceeded:journalBytes') ELSE journal_bytes + excluded.journal_bytes END;
  END;
  CREATE TRIGGER usage_runs_delete AFTER DELETE ON runs BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT OLD.tenant, -(COALESCE(octet_length(OLD.goal), 0) + COALESCE(octet_length(OLD.metadata), 0) + COALESCE(octet_length(OLD.tools), 0) + COALESCE(octet_length(OLD.model), 0) + COALESCE(octet_length(OLD.output), 0) + COALESCE(octet_length(OLD.failure), 0) + COALESCE(octet_length(OLD.waiting_for), 0) + COALESCE(octet_length(OLD.idempotency_key), 0)) WHERE true
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = journal_bytes + excluded.journal_bytes;
  END;
  CREATE TRIGGER usage_blobs_insert AFTER INSERT ON blobs BEGIN
    INSERT INTO tenant_usage (tenant, blob_bytes) SELECT NEW.tenant, NEW.size_bytes WHERE true
      ON CONFLICT (tenant) DO UPDATE SET blob_bytes = CASE WHEN excluded.blob_bytes > 0 AND blob_limit IS NOT NULL AND blob_bytes + excluded.blob_bytes > blob_limit
        THEN RAISE(ABORT, 'mend_quota_exceeded:blobBytes') ELSE blob_bytes + excluded.blob_bytes END;
  END;
  CREATE TRIGGER usage_blobs_delete AFTER DELETE ON blobs BEGIN
    INSERT INTO tenant_usage (tenant, blob_bytes) SELECT OLD.tenant, -OLD.size_bytes WHERE true
      ON CONFLICT (tenant) DO UPDATE SET blob_bytes = blob_bytes + excluded.blob_bytes;
  END;
  CREATE TRIGGER usage_cache_insert AFTER INSERT ON cache_entries BEGIN
    INSERT INTO tenant_usage (tenant, cache_bytes) SELECT NEW.tenant, NEW.size_bytes WHERE true
      ON CONFLICT (tenant) DO UPDATE SET cache_bytes = cache_bytes + excluded.cache_bytes;
  END;
  CREATE TRIGGER usage_cache_update AFTER UPDATE OF size_bytes ON cache_entries BEGIN
    INSERT INTO tenant_usage (tenant, cache_bytes) SELECT NEW.tenant, NEW.size_bytes - OLD.size_bytes WHERE true
      ON CONFLICT (tenant) DO UPDATE SET cache_bytes = cache_bytes + excluded.cache_bytes;
  END;
  CREATE TRIGGER usage_cache_delete AFTER DELETE ON cache_entries BEGIN
    INSERT INTO tenant_usage (tenant, cache_bytes) SELECT OLD.tenant, -OLD.size_bytes WHERE true
      ON CONFLICT (tenant) DO UPDATE SET cache_bytes = cache_bytes + excluded.cache_bytes;
  END;
  `,
  // Forks (POST /v1/runs/{id}/fork): a run's parent and fork point, the edited step; a step copied from a
  // parent names where it was executed.
  `
  ALTER TABLE runs ADD COLUMN parent_run_id TEXT;
  ALTER TABLE runs ADD COLUMN forked_at_seq INTEGER;
  ALTER TABLE runs ADD COLUMN fork_replace TEXT;
  CREATE INDEX runs_parent ON runs (tenant, parent_run_id, created_at DESC, id DESC) WHERE parent_run_id IS NOT NULL;
  ALTER TABLE steps ADD COLUMN replayed_from_run TEXT;
  ALTER TABLE steps ADD COLUMN replayed_from_seq INTEGER;
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
  // Steps' journal bytes are counted by the store itself, once per transaction (sqlite-step-usage.ts): a
  // claim's insert (the only insert of a step without `replayed_from_run`) and every update, which records
  // the row's bytes before it in `bytes_before_update`; the insert trigger still counts a fork's copies.
  `
  ALTER TABLE steps ADD COLUMN bytes_before_update INTEGER;
  DROP TRIGGER usage_steps_update;
  DROP TRIGGER usage_steps_insert;
  CREATE TRIGGER usage_steps_insert AFTER INSERT ON steps WHEN NEW.replayed_from_run IS NOT NULL BEGIN
    INSERT INTO tenant_usage (tenant, journal_bytes) SELECT tenant, COALESCE(octet_length(NEW.key), 0) + COALESCE(octet_length(NEW.input), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0) + COALESCE(octet_length(NEW.usage), 0) + COALESCE(octet_length(NEW.remediation), 0) + COALESCE(octet_length(NEW.audit), 0) FROM runs WHERE id = NEW.run_id
      ON CONFLICT (tenant) DO UPDATE SET journal_bytes = CASE WHEN excluded.journal_bytes > 0 AND journal_limit IS NOT NULL AND journal_bytes + excluded.journal_bytes > journal_limit
        THEN RAISE(ABORT, 'mend_quota_exceeded:journalBytes') ELSE journal_bytes + excluded.journal_bytes END;
  END;
  `,
];
