-- 0001_schema: the fleetcost schema (DESIGN §4).
--
-- Applied by `fleetcost migrate` inside one transaction; a migration file must not
-- contain BEGIN/COMMIT. Forward-only: never edit this file once released, add 0003_...
--
-- Roles: the role running this file owns every object (ingest, aggregator, alerter and
-- the CLI connect as the owner, which bypasses row-level security: RLS is ENABLEd, not
-- FORCEd). Readers (reporter, tenant-scoped API keys) connect with a login role that is a
-- member of the NOLOGIN role fleetcost_reader, own nothing, and see tenant rows only
-- through the policies below, after `SET LOCAL fleetcost.tenant = '<tenant>'` (or
-- set_config('fleetcost.tenant', $1, true)) in their transaction. '*' reads every
-- tenant (admin keys); a tenant id can never be '*' (see tenants_id_syntax).
--
-- Every table that carries tenant data has tenant_id first in its primary key, so the
-- schema can be distributed by tenant (Citus). audit_log, dead_letters and api_keys are
-- operator data and keyed by their own ids.

-- The reader role is cluster-wide. stack.sh creates it; a fresh cluster (docker) gets it
-- here. Two databases migrating at once may race on the create: the loser's error is
-- harmless, so it is swallowed.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fleetcost_reader') THEN
        CREATE ROLE fleetcost_reader NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- ---------------------------------------------------------------------------------------
-- Tenants

-- True when tz is a time zone name Postgres knows (IANA names and aliases such as UTC).
CREATE FUNCTION fc_valid_tz(tz text) RETURNS boolean
LANGUAGE sql STABLE STRICT
AS $$ SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz) $$;

CREATE TABLE tenants (
    tenant_id    text PRIMARY KEY
                 CONSTRAINT tenants_id_syntax CHECK (tenant_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name         text,
    tz           text NOT NULL DEFAULT 'UTC' CONSTRAINT tenants_tz_valid CHECK (fc_valid_tz(tz)),
    billing_tier text NOT NULL DEFAULT 'standard',
    cost_centre  text,
    webhook_url  text,
    email        text,
    auto_created boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------
-- Events: the append-only log of record

-- Partitioned by UTC day on event time; partitions are named events_YYYYMMDD and made
-- ahead of time by fc_ensure_event_partitions. The primary key includes the partition
-- column (Postgres requires it) and makes a resent event a no-op for
-- INSERT ... ON CONFLICT DO NOTHING.
--
-- There is deliberately no DEFAULT partition: once a row for day D sat in it, creating
-- events_D later would fail (Postgres refuses to attach a partition whose range matches
-- rows in the default partition, and moving them needs a long exclusive lock), and
-- retention could never drop it by day. An event for a day without a partition is an
-- error the writer sees (and can answer by calling fc_ensure_event_partitions for that
-- day, or by dead-lettering an event older than retention).
CREATE TABLE events (
    event_id              uuid NOT NULL,
    event_time            timestamptz NOT NULL,
    tenant_id             text NOT NULL,
    event_type            text NOT NULL,
    agent_id              text,
    agent_type            text,
    task_id               text,
    session_id            text,
    request_id            text,
    model                 text,         -- as sent
    model_family          text,         -- normalised name used for pricing
    input_tokens          bigint NOT NULL DEFAULT 0,
    output_tokens         bigint NOT NULL DEFAULT 0,
    cache_read_tokens     bigint NOT NULL DEFAULT 0,
    cache_write_5m_tokens bigint NOT NULL DEFAULT 0,
    cache_write_1h_tokens bigint NOT NULL DEFAULT 0,
    cost_nusd             bigint NOT NULL DEFAULT 0,   -- nano-USD
    cost_kind             text CONSTRAINT events_cost_kind
                          CHECK (cost_kind IN ('usage', 'runtime', 'storage', 'mcp', 'other')),
    price_version         int,
    unpriced              boolean NOT NULL DEFAULT false,
    reported_cost_nusd    bigint,
    api_duration_ms       bigint,
    memory_mb             bigint,
    cpu_percent           real,
    attrs                 jsonb,
    body                  jsonb,        -- the whole event as JSON
    ingest_id             text NOT NULL,
    seq                   bigint NOT NULL,
    received_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, event_time)
) PARTITION BY RANGE (event_time);

CREATE INDEX events_tenant_time ON events (tenant_id, event_time);
-- Subscribers that saw a gap catch up by (ingest_id, seq).
CREATE INDEX events_ingest_seq ON events (ingest_id, seq);

-- Creates the missing daily partitions events_YYYYMMDD for from_day..to_day (inclusive,
-- UTC days) and returns how many it created. Safe to call from several sessions at
-- once: a transaction-scoped advisory lock serialises callers, and each day is checked
-- before it is created. A table of the same name that is not a partition of events
-- (retention interrupted between DETACH and DROP) is an error rather than silently
-- leaving the day without a partition.
CREATE FUNCTION fc_ensure_event_partitions(from_day date, to_day date) RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    d       date;
    part    text;
    rel     regclass;
    created int := 0;
BEGIN
    IF from_day IS NULL OR to_day IS NULL OR to_day < from_day THEN
        RAISE EXCEPTION 'fc_ensure_event_partitions: bad range % .. %', from_day, to_day;
    END IF;
    IF to_day - from_day > 3660 THEN
        RAISE EXCEPTION 'fc_ensure_event_partitions: range % .. % is over 10 years', from_day, to_day;
    END IF;
    -- 'fcev' as an int: one lock for all partition DDL on this database.
    PERFORM pg_advisory_xact_lock(1717790070);
    d := from_day;
    WHILE d <= to_day LOOP
        part := 'events_' || to_char(d, 'YYYYMMDD');
        rel := to_regclass('public.' || quote_ident(part));
        IF rel IS NULL THEN
            EXECUTE format('CREATE TABLE public.%I PARTITION OF public.events FOR VALUES FROM (%L) TO (%L)',
                           part, to_char(d, 'YYYY-MM-DD') || ' 00:00:00+00',
                           to_char(d + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
            created := created + 1;
        ELSIF NOT EXISTS (SELECT 1 FROM pg_inherits
                           WHERE inhrelid = rel AND inhparent = 'public.events'::regclass) THEN
            RAISE EXCEPTION 'fc_ensure_event_partitions: % exists but is not a partition of events', part;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN created;
END
$$;
REVOKE EXECUTE ON FUNCTION fc_ensure_event_partitions(date, date) FROM PUBLIC;

SELECT fc_ensure_event_partitions((now() AT TIME ZONE 'UTC')::date - 7,
                                  (now() AT TIME ZONE 'UTC')::date + 14);

-- ---------------------------------------------------------------------------------------
-- Dimensions, maintained from lifecycle and task events

CREATE TABLE agents (
    tenant_id        text NOT NULL,
    agent_id         text NOT NULL,
    agent_type       text,
    host             text,
    parent_agent     text,
    task_id          text,
    spawned_at       timestamptz,
    terminated_at    timestamptz,
    exit_code        int,
    terminate_reason text,
    last_seen_at     timestamptz,
    PRIMARY KEY (tenant_id, agent_id)
);

CREATE TABLE tasks (
    tenant_id    text NOT NULL,
    task_id      text NOT NULL,
    title        text,
    task_type    text,
    priority     text,
    status       text,
    labels       text[],
    repo         text,
    issue        bigint,
    created_at   timestamptz,
    updated_at   timestamptz,
    completed_at timestamptz,
    PRIMARY KEY (tenant_id, task_id)
);

CREATE TABLE task_agents (
    tenant_id     text NOT NULL,
    task_id       text NOT NULL,
    agent_id      text NOT NULL,
    assigned_at   timestamptz,
    unassigned_at timestamptz,
    PRIMARY KEY (tenant_id, task_id, agent_id)
);

-- The seed schema's names, as views over events. security_invoker makes the caller's
-- privileges and row-level security apply to events (without it a view runs as its
-- owner, who bypasses RLS, and a reader would see every tenant).
CREATE VIEW agent_metrics WITH (security_invoker = true) AS
    SELECT tenant_id, agent_id, event_time, api_duration_ms, memory_mb, cpu_percent, model
      FROM events
     WHERE event_type = 'usage';

CREATE VIEW cost_entries WITH (security_invoker = true) AS
    SELECT tenant_id, event_id, event_time, agent_id, agent_type, task_id, cost_kind,
           model_family, cost_nusd, price_version, unpriced
      FROM events
     WHERE cost_kind IS NOT NULL;

-- ---------------------------------------------------------------------------------------
-- Rollups and alerts

-- Daily rollups per tenant-local day, kept when retention drops raw events. One row per
-- (dimension, key): key is '' for 'total', else the agent type, model, agent, task or
-- cost kind. final = the day is closed and the row will not change except by repricing.
CREATE TABLE cost_summaries (
    tenant_id             text NOT NULL,
    day                   date NOT NULL,
    dimension             text NOT NULL CONSTRAINT cost_summaries_dimension
                          CHECK (dimension IN ('total', 'agent_type', 'model', 'agent', 'task', 'kind')),
    key                   text NOT NULL DEFAULT '',
    cost_nusd             bigint NOT NULL DEFAULT 0,
    input_tokens          bigint NOT NULL DEFAULT 0,
    output_tokens         bigint NOT NULL DEFAULT 0,
    cache_read_tokens     bigint NOT NULL DEFAULT 0,
    cache_write_5m_tokens bigint NOT NULL DEFAULT 0,
    cache_write_1h_tokens bigint NOT NULL DEFAULT 0,
    events                bigint NOT NULL DEFAULT 0,
    unpriced_events       bigint NOT NULL DEFAULT 0,
    final                 boolean NOT NULL DEFAULT false,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, day, dimension, key)
);

-- One row per alert condition and period; the unique key makes firing idempotent
-- (INSERT ... ON CONFLICT DO NOTHING / UPDATE on resolve).
CREATE TABLE cost_alerts (
    tenant_id         text NOT NULL,
    alert_id          bigserial,
    kind              text NOT NULL CONSTRAINT cost_alerts_kind
                      CHECK (kind IN ('threshold', 'forecast', 'runaway', 'no_data', 'unpriced')),
    scope             text NOT NULL CONSTRAINT cost_alerts_scope
                      CHECK (scope IN ('day', 'month', 'agent', 'agent_type', 'tenant')),
    period_key        text NOT NULL,   -- '2026-11-28', '2026-11', ...
    subject           text NOT NULL DEFAULT '',
    threshold_pct     int NOT NULL DEFAULT 0,
    value_nusd        bigint,
    budget_nusd       bigint,
    state             text NOT NULL DEFAULT 'fired' CONSTRAINT cost_alerts_state
                      CHECK (state IN ('fired', 'resolved')),
    text              text,
    fired_at          timestamptz NOT NULL DEFAULT now(),
    resolved_at       timestamptz,
    delivery_status   text NOT NULL DEFAULT 'pending',
    delivery_attempts int NOT NULL DEFAULT 0,
    delivery_error    text,
    PRIMARY KEY (tenant_id, alert_id),
    UNIQUE (tenant_id, kind, scope, period_key, subject, threshold_pct)
);

-- Budgets and thresholds. tenant_id '*' holds the defaults for tenants without their own
-- row. window_seconds is the look-back of an agent_runaway budget.
CREATE TABLE budgets (
    tenant_id      text NOT NULL,
    scope          text NOT NULL CONSTRAINT budgets_scope
                   CHECK (scope IN ('daily', 'monthly', 'agent_runaway', 'agent_type_daily')),
    subject        text NOT NULL DEFAULT '',
    amount_nusd    bigint NOT NULL CONSTRAINT budgets_amount CHECK (amount_nusd >= 0),
    window_seconds int CONSTRAINT budgets_window CHECK (window_seconds > 0),
    thresholds     int[] NOT NULL DEFAULT '{50,80,100}'
                   CONSTRAINT budgets_thresholds CHECK (0 < ALL (thresholds)),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, scope, subject)
);

-- ---------------------------------------------------------------------------------------
-- Pricing (nano-USD per token, integers; DESIGN §3)

-- A price version per model family and effective_from. Above tier_threshold prompt
-- tokens (0 = no tier) every token of a request is billed at the tier_* rates.
CREATE TABLE price_versions (
    version_id          serial PRIMARY KEY,
    model               text NOT NULL,
    effective_from      timestamptz NOT NULL,
    input               bigint NOT NULL CHECK (input >= 0),
    output              bigint NOT NULL CHECK (output >= 0),
    cache_read          bigint NOT NULL CHECK (cache_read >= 0),
    cache_write_5m      bigint NOT NULL CHECK (cache_write_5m >= 0),
    cache_write_1h      bigint NOT NULL CHECK (cache_write_1h >= 0),
    tier_threshold      bigint NOT NULL DEFAULT 0 CHECK (tier_threshold >= 0),
    tier_input          bigint,
    tier_output         bigint,
    tier_cache_read     bigint,
    tier_cache_write_5m bigint,
    tier_cache_write_1h bigint,
    source              text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (model, effective_from),
    CONSTRAINT price_versions_tier CHECK (
        tier_threshold = 0 OR (tier_input IS NOT NULL AND tier_output IS NOT NULL
                               AND tier_cache_read IS NOT NULL AND tier_cache_write_5m IS NOT NULL
                               AND tier_cache_write_1h IS NOT NULL))
);

-- Repricing a window records what it changed.
CREATE TABLE restatements (
    tenant_id     text NOT NULL,
    id            bigserial,
    from_ts       timestamptz NOT NULL,
    to_ts         timestamptz NOT NULL,
    old_cost_nusd bigint NOT NULL,
    new_cost_nusd bigint NOT NULL,
    events        bigint NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text,
    PRIMARY KEY (tenant_id, id)
);

-- ---------------------------------------------------------------------------------------
-- Operator data

-- API keys: key_id is the public prefix shown to users; key_hash the hex SHA-256 of the
-- secret. tenant_id NULL = admin key (reads every tenant).
CREATE TABLE api_keys (
    key_id     text PRIMARY KEY,
    tenant_id  text,
    key_hash   text NOT NULL CONSTRAINT api_keys_hash CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    name       text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- Readers never see api_keys; they verify a presented key through this function, which
-- runs as the owner and returns at most one row. revoked is true once revoked_at has
-- passed.
CREATE FUNCTION fc_api_key_lookup(p_key_id text)
RETURNS TABLE (tenant_id text, key_hash text, revoked boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT k.tenant_id, k.key_hash, k.revoked_at IS NOT NULL AND k.revoked_at <= now()
      FROM public.api_keys k
     WHERE k.key_id = p_key_id
$$;
REVOKE EXECUTE ON FUNCTION fc_api_key_lookup(text) FROM PUBLIC;

-- Who changed a budget, price, key or tenant, or dropped data, and when.
CREATE TABLE audit_log (
    id     bigserial PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text,
    action text NOT NULL,
    object text,
    before jsonb,
    after  jsonb
);

-- Rejected input with its reason (tenant_id NULL when the sender was not authenticated).
CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    tenant_id   text,
    received_at timestamptz NOT NULL DEFAULT now(),
    ingest_id   text,
    code        text,
    field       text,
    reason      text,
    raw         bytea
);
CREATE INDEX dead_letters_tenant ON dead_letters (tenant_id, received_at);

-- ---------------------------------------------------------------------------------------
-- Row-level security for the reader

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenants', 'events', 'agents', 'tasks', 'task_agents',
                             'cost_summaries', 'cost_alerts', 'restatements', 'dead_letters']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY %I ON %I FOR SELECT TO fleetcost_reader
                          USING (tenant_id = current_setting('fleetcost.tenant', true)
                                 OR current_setting('fleetcost.tenant', true) = '*')$p$,
                       t || '_tenant_read', t);
    END LOOP;
END
$$;

-- A tenant reader also sees the default budgets ('*' rows) that apply to it: they are
-- operator settings, not another tenant's data. A reader with no tenant sees nothing.
ALTER TABLE budgets ENABLE ROW LEVEL SECURITY;
CREATE POLICY budgets_tenant_read ON budgets FOR SELECT TO fleetcost_reader
    USING (tenant_id = current_setting('fleetcost.tenant', true)
           OR current_setting('fleetcost.tenant', true) = '*'
           OR (tenant_id = '*' AND current_setting('fleetcost.tenant', true) <> ''));

-- The audit log names tenants and keys: admin readers only.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_admin_read ON audit_log FOR SELECT TO fleetcost_reader
    USING (current_setting('fleetcost.tenant', true) = '*');

-- Read-only grants. Partitions of events get no grants: readers go through events,
-- where its policy applies. price_versions is public price data (no RLS).
GRANT SELECT ON tenants, events, agents, tasks, task_agents, agent_metrics, cost_entries,
                cost_summaries, cost_alerts, budgets, price_versions, restatements,
                audit_log, dead_letters
    TO fleetcost_reader;
GRANT EXECUTE ON FUNCTION fc_api_key_lookup(text) TO fleetcost_reader;
