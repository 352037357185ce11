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
  // Where a run came from (GET /v1/runs?origin=): earlier runs are backfilled from implicit and mode.
  `
  ALTER TABLE runs ADD COLUMN origin TEXT NOT NULL DEFAULT 'client';
  UPDATE runs SET origin = CASE WHEN implicit THEN 'one-off' WHEN mode = 'hosted' THEN 'hosted' ELSE 'client' END;
  CREATE INDEX runs_tenant_origin ON runs (tenant, origin, created_at);
  `,
  // Quotas per tenant: what each tenant stores, kept by triggers in the same transaction as every write that
  // grows it, and the check inside that write. The upsert of the tenant's usage row locks it until the
  // transaction ends, so concurrent writes of one tenant are checked one after the other (never all passing
  // against the same old total); a refusal raises MQ001 and the transaction rolls back. The ends that
  // journal a refusal (a step failed or interrupted, a run's final status) are not checked.
  `
  CREATE TABLE tenant_usage (
    tenant TEXT PRIMARY KEY,
    journal_bytes BIGINT NOT NULL DEFAULT 0,
    blob_bytes BIGINT NOT NULL DEFAULT 0,
    cache_bytes BIGINT NOT NULL DEFAULT 0,
    journal_limit BIGINT,
    blob_limit BIGINT
  );
  CREATE INDEX cache_tenant_lru ON cache_entries (tenant, last_used_at);
  -- Adds journal (dj) and blob (db) bytes to a tenant's row; with chk, refuses a growth past its limit.
  CREATE FUNCTION mend_usage_add(t TEXT, dj BIGINT, db BIGINT, chk BOOLEAN) RETURNS void LANGUAGE plpgsql AS $$
  DECLARE u tenant_usage%ROWTYPE;
  BEGIN
    IF t IS NULL OR (dj = 0 AND db = 0) THEN RETURN; END IF;
    -- An UPDATE first (the row exists after a tenant's first write): cheaper than a speculative insert.
    UPDATE tenant_usage SET journal_bytes = journal_bytes + dj, blob_bytes = blob_bytes + db
      WHERE tenant = t RETURNING * INTO u;
    IF NOT FOUND THEN
      INSERT INTO tenant_usage AS x (tenant, journal_bytes, blob_bytes) VALUES (t, dj, db)
        ON CONFLICT (tenant) DO UPDATE SET journal_bytes = x.journal_bytes + dj, blob_bytes = x.blob_bytes + db
        RETURNING * INTO u;
    END IF;
    IF chk AND dj > 0 AND u.journal_limit IS NOT NULL AND u.journal_bytes > u.journal_limit THEN
      RAISE EXCEPTION USING ERRCODE = 'MQ001', DETAIL = 'journalBytes',
        MESSAGE = format('journal quota exceeded: %s bytes of %s', u.journal_bytes, u.journal_limit);
    END IF;
    IF chk AND db > 0 AND u.blob_limit IS NOT NULL AND u.blob_bytes > u.blob_limit THEN
      RAISE EXCEPTION USING ERRCODE = 'MQ001', DETAIL = 'blobBytes',
        MESSAGE = format('blob quota exceeded: %s bytes of %s', u.blob_bytes, u.blob_limit);
    END IF;
  END $$;
  CREATE FUNCTION mend_usage_steps() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE d BIGINT; t TEXT;
  BEGIN
    IF TG_OP = 'INSERT' THEN
      d := COALESCE(octet_length(NEW.key), 0) + COALESCE(octet_length(NEW.input), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0) + COALESCE(octet_length(NEW.usage), 0) + COALESCE(octet_length(NEW.remediation), 0) + COALESCE(octet_length(NEW.audit), 0);
      t := (SELECT tenant FROM runs WHERE id = NEW.run_id);
      PERFORM mend_usage_add(t, d, 0, TRUE);
    ELSIF TG_OP = 'UPDATE' THEN
      d := (COALESCE(octet_length(NEW.key), 0) + COALESCE(octet_length(NEW.input), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0) + COALESCE(octet_length(NEW.usage), 0) + COALESCE(octet_length(NEW.remediation), 0) + COALESCE(octet_length(NEW.audit), 0)) - (COALESCE(octet_length(OLD.key), 0) + COALESCE(octet_length(OLD.input), 0) + COALESCE(octet_length(OLD.output), 0) + COALESCE(octet_length(OLD.failure), 0) + COALESCE(octet_length(OLD.usage), 0) + COALESCE(octet_length(OLD.remediation), 0) + COALESCE(octet_length(OLD.audit), 0));
      t := (SELECT tenant FROM runs WHERE id = NEW.run_id);
      PERFORM mend_usage_add(t, d, 0, NEW.status IN ('started', 'succeeded'));
    ELSE
      d := -(COALESCE(octet_length(OLD.key), 0) + COALESCE(octet_length(OLD.input), 0) + COALESCE(octet_length(OLD.output), 0) + COALESCE(octet_length(OLD.failure), 0) + COALESCE(octet_length(OLD.usage), 0) + COALESCE(octet_length(OLD.remediation), 0) + COALESCE(octet_length(OLD.audit), 0));
      t := (SELECT tenant FROM runs WHERE id = OLD.run_id);
      PERFORM mend_usage_add(t, d, 0, FALSE);
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER usage_steps AFTER INSERT OR DELETE OR UPDATE OF key, input, output, failure, usage, remediation, audit ON steps
    FOR EACH ROW EXECUTE FUNCTION mend_usage_steps();
  CREATE FUNCTION mend_usage_tool_calls() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE d BIGINT; t TEXT;
  BEGIN
    IF TG_OP = 'INSERT' THEN
      d := COALESCE(octet_length(NEW.tool), 0) + COALESCE(octet_length(NEW.args_json), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0);
      t := (SELECT tenant FROM runs WHERE id = NEW.run_id);
      PERFORM mend_usage_add(t, d, 0, TRUE);
    ELSIF TG_OP = 'UPDATE' THEN
      d := (COALESCE(octet_length(NEW.tool), 0) + COALESCE(octet_length(NEW.args_json), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0)) - (COALESCE(octet_length(OLD.tool), 0) + COALESCE(octet_length(OLD.args_json), 0) + COALESCE(octet_length(OLD.output), 0) + COALESCE(octet_length(OLD.failure), 0));
      t := (SELECT tenant FROM runs WHERE id = NEW.run_id);
      PERFORM mend_usage_add(t, d, 0, TRUE);
    ELSE
      d := -(COALESCE(octet_length(OLD.tool), 0) + COALESCE(octet_length(OLD.args_json), 0) + COALESCE(octet_length(OLD.output), 0) + COALESCE(octet_length(OLD.failure), 0));
      t := (SELECT tenant FROM runs WHERE id = OLD.run_id);
      PERFORM mend_usage_add(t, d, 0, FALSE);
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER usage_tool_calls AFTER INSERT OR DELETE OR UPDATE OF tool, args_json, output, failure ON tool_calls
    FOR EACH ROW EXECUTE FUNCTION mend_usage_tool_calls();
  CREATE FUNCTION mend_usage_checkpoints() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE d BIGINT; t TEXT;
  BEGIN
    IF TG_OP = 'INSERT' THEN
      d := COALESCE(octet_length(NEW.key), 0) + COALESCE(octet_length(NEW.value), 0);
      t := (SELECT tenant FROM runs WHERE id = NEW.run_id);
      PERFORM mend_usage_add(t, d, 0, TRUE);
    ELSIF TG_OP = 'UPDATE' THEN
      d := (COALESCE(octet_length(NEW.key), 0) + COALESCE(octet_length(NEW.value), 0)) - (COALESCE(octet_length(OLD.key), 0) + COALESCE(octet_length(OLD.value), 0));
      t := (SELECT tenant FROM runs WHERE id = NEW.run_id);
      PERFORM mend_usage_add(t, d, 0, TRUE);
    ELSE
      d := -(COALESCE(octet_length(OLD.key), 0) + COALESCE(octet_length(OLD.value), 0));
      t := (SELECT tenant FROM runs WHERE id = OLD.run_id);
      PERFORM mend_usage_add(t, d, 0, FALSE);
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER usage_checkpoints AFTER INSERT OR DELETE OR UPDATE OF key, value ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION mend_usage_checkpoints();
  CREATE FUNCTION mend_usage_runs() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE d BIGINT; t TEXT;
  BEGIN
    IF TG_OP = 'INSERT' THEN
      d := COALESCE(octet_length(NEW.goal), 0) + COALESCE(octet_length(NEW.metadata), 0) + COALESCE(octet_length(NEW.tools), 0) + COALESCE(octet_length(NEW.model), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0) + COALESCE(octet_length(NEW.waiting_for), 0) + COALESCE(octet_length(NEW.idempotency_key), 0);
      t := NEW.tenant;
      PERFORM mend_usage_add(t, d, 0, TRUE);
    ELSIF TG_OP = 'UPDATE' THEN
      d := (COALESCE(octet_length(NEW.goal), 0) + COALESCE(octet_length(NEW.metadata), 0) + COALESCE(octet_length(NEW.tools), 0) + COALESCE(octet_length(NEW.model), 0) + COALESCE(octet_length(NEW.output), 0) + COALESCE(octet_length(NEW.failure), 0) + COALESCE(octet_length(NEW.waiting_for), 0) + COALESCE(octet_length(NEW.idempotency_key), 0)) - (COALESCE(octet_length(OLD.goal), 0) + COALESCE(octet_length(OLD.metadata), 0) + COALESCE(octet_length(OLD.tools), 0) + COALESCE(octet_length(OLD.model), 0) + COALESCE(octet_length(OLD.output), 0) + COALESCE(octet_length(OLD.failure), 0) + COALESCE(octet_length(OLD.waiting_for), 0) + COALESCE(octet_length(OLD.idempotency_key), 0));
      t := NEW.tenant;
      PERFORM mend_usage_add(t, d, 0, NEW.status IN ('running', 'waiting_for_input'));
    ELSE
      d := -(COALESCE(octet_length(OLD.goal), 0) + COALESCE(octet_length(OLD.metadata), 0) + COALESCE(octet_length(OLD.tools), 0) + COALESCE(octet_length(OLD.model), 0) + COALESCE(octet_length(OLD.output), 0) + COALESCE(octet_length(OLD.failure), 0) + COALESCE(octet_length(OLD.waiting_for), 0) + COALESCE(octet_length(OLD.idempotency_key), 0));
      t := OLD.tenant;
      PERFORM mend_usage_add(t, d, 0, FALSE);
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER usage_runs AFTER INSERT OR DELETE OR UPDATE OF goal, metadata, tools, model, output, failure, waiting_for, idempotency_key ON runs
    FOR EACH ROW EXECUTE FUNCTION mend_usage_runs();
  CREATE FUNCTION mend_usage_blobs() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'INSERT' THEN PERFORM mend_usage_add(NEW.tenant, 0, NEW.size_bytes, TRUE);
    ELSE PERFORM mend_usage_add(OLD.tenant, 0, -OLD.size_bytes, FALSE);
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER usage_blobs AFTER INSERT OR DELETE ON blobs FOR EACH ROW EXECUTE FUNCTION mend_usage_blobs();
  -- Cache bytes per tenant (no quota check: eviction inside the tenant's partition keeps them in bounds).
  CREATE FUNCTION mend_usage_cache() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE t TEXT; d BIGINT;
  BEGIN
    IF TG_OP = 'INSERT' THEN t := NEW.tenant; d := NEW.size_bytes;
    ELSIF TG_OP = 'DELETE' THEN t := OLD.tenant; d := -OLD.size_bytes;
    ELSE t := NEW.tenant; d := NEW.size_bytes - OLD.size_bytes;
    END IF;
    INSERT INTO tenant_usage AS x (tenant, cache_bytes) VALUES (t, d)
      ON CONFLICT (tenant) DO UPDATE SET cache_bytes = x.cache_bytes + d;
    RETURN NULL;
  END $$;
  CREATE TRIGGER usage_cache AFTER INSERT OR DELETE OR UPDATE OF size_bytes ON cache_entries
    FOR EACH ROW EXECUTE FUNCTION mend_usage_cache();
  INSERT INTO tenant_usage AS x (tenant, journal_bytes) SELECT r.tenant, SUM(COALESCE(octet_length(r.goal), 0) + COALESCE(octet_length(r.metadata), 0) + COALESCE(octet_length(r.tools), 0) + COALESCE(octet_length(r.model), 0) + COALESCE(octet_length(r.output), 0) + COALESCE(octet_length(r.failure), 0) + COALESCE(octet_length(r.waiting_for), 0) + COALESCE(octet_length(r.idempotency_key), 0)) FROM runs r GROUP BY r.tenant
    ON CONFLICT (tenant) DO UPDATE SET journal_bytes = x.journal_bytes + excluded.journal_bytes;
  INSERT INTO tenant_usage AS x (tenant, journal_bytes) SELECT r.tenant, SUM(COALESCE(octet_length(s.key), 0) + COALESCE(octet_length(s.input), 0) + COALESCE(octet_length(s.output), 0) + COALESCE(octet_length(s.failure), 0) + COALESCE(octet_length(s.usage), 0) + COALESCE(octet_length(s.remediation), 0) + COALESCE(octet_length(s.audit), 0)) FROM steps s JOIN runs r ON r.id = s.run_id GROUP BY r.tenant
    ON CONFLICT (tenant) DO UPDATE SET journal_bytes = x.journal_bytes + excluded.journal_bytes;
  INSERT INTO tenant_usage AS x (tenant, journal_bytes) SELECT r.tenant, SUM(COALESCE(octet_length(t.tool), 0) + COALESCE(octet_length(t.args_json), 0) + COALESCE(octet_length(t.output), 0) + COALESCE(octet_length(t.failure), 0)) FROM tool_calls t JOIN runs r ON r.id = t.run_id GROUP BY r.tenant
    ON CONFLICT (tenant) DO UPDATE SET journal_bytes = x.journal_bytes + excluded.journal_bytes;
  INSERT INTO tenant_usage AS x (tenant, journal_bytes) SELECT r.tenant, SUM(COALESCE(octet_length(c.key), 0) + COALESCE(octet_length(c.value), 0)) FROM checkpoints c JOIN runs r ON r.id = c.run_id GROUP BY r.tenant
    ON CONFLICT (tenant) DO UPDATE SET journal_bytes = x.journal_bytes + excluded.journal_bytes;
  INSERT INTO tenant_usage AS x (tenant, blob_bytes) SELECT b.tenant, SUM(b.size_bytes) FROM blobs b GROUP BY b.tenant
    ON CONFLICT (tenant) DO UPDATE SET blob_bytes = x.blob_bytes + excluded.blob_bytes;
  INSERT INTO tenant_usage AS x (tenant, cache_bytes) SELECT e.tenant, SUM(e.size_bytes) FROM cache_entries e GROUP BY e.tenant
    ON CONFLICT (tenant) DO UPDATE SET cache_bytes = x.cache_bytes + excluded.cache_bytes;
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
  // The tools' and the API keys' caches (pg-catalog-versions.ts): every commit that changes either table
  // sends a NOTIFY, whoever wrote (a replica, the CLI, any SQL). Row triggers, so a statement that changed
  // nothing stays silent; one notification per table and transaction (PostgreSQL folds identical ones);
  // TRUNCATE has statement triggers only. Re-runnable: the function is replaced, the triggers re-created.
  `
  CREATE OR REPLACE FUNCTION mend_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('mend_catalog', TG_TABLE_NAME);
    RETURN NULL;
  END $$;
  DROP TRIGGER IF EXISTS catalog_tools ON tools;
  CREATE TRIGGER catalog_tools AFTER INSERT OR UPDATE OR DELETE ON tools
    FOR EACH ROW EXECUTE FUNCTION mend_catalog_changed();
  DROP TRIGGER IF EXISTS catalog_tools_truncate ON tools;
  CREATE TRIGGER catalog_tools_truncate AFTER TRUNCATE ON tools
    FOR EACH STATEMENT EXECUTE FUNCTION mend_catalog_changed();
  DROP TRIGGER IF EXISTS catalog_api_keys ON api_keys;
  CREATE TRIGGER catalog_api_keys AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION mend_catalog_changed();
  DROP TRIGGER IF EXISTS catalog_api_keys_truncate ON api_keys;
  CREATE TRIGGER catalog_api_keys_truncate AFTER TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION mend_catalog_changed();
  `,
];
