-- 0014_reconcile: reconciliation with the provider's bill (issue #18, docs/RECONCILE.md).
--
-- `fleetcost reconcile run` imports Anthropic's Admin API cost report (and usage report)
-- for a range of UTC days and compares it, per tenant and UTC day, with what fleetcost
-- computed. Imported figures replace the range's earlier import in one transaction, so
-- a run is idempotent and a failed run leaves the previous import whole. Every run and
-- its variance rows are kept: a late change of the bill shows as a new run, not as an
-- edit of history.

-- Which tenant a provider workspace bills for. Operator configuration, set by
-- `fleetcost reconcile map` (audited); never taken from the provider's payload. The
-- default workspace (workspace_id null in the API) cannot be mapped: it is reported as
-- unmapped rather than spread over tenants.
CREATE TABLE provider_workspace_map (
    provider     text NOT NULL CONSTRAINT provider_workspace_map_provider
                 CHECK (provider IN ('anthropic')),
    workspace_id text NOT NULL CONSTRAINT provider_workspace_map_id
                 CHECK (workspace_id ~ '^[A-Za-z0-9_-]{1,128}$'),
    tenant_id    text NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    set_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, workspace_id)
);

-- One row per run over [from_day, to_day] (UTC days, inclusive). status: running, ok,
-- failed (error says why; nothing of the range was changed). requests, pages and
-- rate-limit waits are counted so an operator can see what the provider's limits cost.
CREATE TABLE reconcile_runs (
    run_id       bigserial PRIMARY KEY,
    provider     text NOT NULL DEFAULT 'anthropic',
    from_day     date NOT NULL,
    to_day       date NOT NULL,
    status       text NOT NULL DEFAULT 'running' CONSTRAINT reconcile_runs_status
                 CHECK (status IN ('running', 'ok', 'failed')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    requests     int NOT NULL DEFAULT 0,
    pages        int NOT NULL DEFAULT 0,
    rate_limited int NOT NULL DEFAULT 0,
    waited_ms    bigint NOT NULL DEFAULT 0,
    error        text,
    CONSTRAINT reconcile_runs_range CHECK (to_day >= from_day)
);

-- The cost report as imported: one row per result of a daily bucket (row_no is its
-- position in the bucket, so no assumption is made about which fields are unique).
-- workspace_id '' is the default workspace. amount_nusd is the exact conversion of the
-- cents string (fc_money_parse_cents); rounded marks the rare amount finer than 1
-- nano-USD.
CREATE TABLE provider_costs (
    provider       text NOT NULL,
    day            date NOT NULL,
    workspace_id   text NOT NULL,
    row_no         int NOT NULL,
    description    text,
    cost_type      text,
    model          text,
    token_type     text,
    service_tier   text,
    context_window text,
    inference_geo  text,
    amount_nusd    bigint NOT NULL,
    rounded        boolean NOT NULL DEFAULT false,
    run_id         bigint NOT NULL REFERENCES reconcile_runs,
    PRIMARY KEY (provider, day, workspace_id, row_no)
);

-- The usage report (messages) as imported: tokens per (day, workspace, model).
CREATE TABLE provider_usage (
    provider              text NOT NULL,
    day                   date NOT NULL,
    workspace_id          text NOT NULL,
    row_no                int NOT NULL,
    model                 text,
    input_tokens          bigint NOT NULL DEFAULT 0,
    output_tokens         bigint NOT NULL DEFAULT 0,
    cache_read_tokens     bigint NOT NULL DEFAULT 0,
    cache_write_5m_tokens bigint NOT NULL DEFAULT 0,
    cache_write_1h_tokens bigint NOT NULL DEFAULT 0,
    run_id                bigint NOT NULL REFERENCES reconcile_runs,
    PRIMARY KEY (provider, day, workspace_id, row_no)
);

-- A run's result per (tenant, UTC day): the bill, fleetcost's list cost, their
-- difference (bill - fleetcost, nano-USD) and the same for tokens (all kinds summed);
-- token_diffs names the models whose tokens differ, with bill - fleetcost each
-- ("claude-opus-4-6 +32000"), NULL when all agree: tokens tell a request fleetcost did
-- not see (tokens differ) from a price that differs (tokens agree, money does not).
-- status: match (difference within the rounding allowance of ±1 nano-USD per rounded
-- row), bill_higher (usage reached the provider without reaching fleetcost: an
-- unwatched host, a missing agent type), fleetcost_higher (double counting, a wrong
-- tenant, a catalog price above the bill) or unmapped (tenant_id '': cost of workspaces
-- no tenant is mapped to; admin readers only).
CREATE TABLE reconcile_variances (
    tenant_id        text NOT NULL,
    day              date NOT NULL,
    run_id           bigint NOT NULL REFERENCES reconcile_runs,
    provider         text NOT NULL,
    bill_nusd        bigint NOT NULL,
    fleetcost_nusd   bigint NOT NULL,
    diff_nusd        bigint NOT NULL,
    rounded_rows     int NOT NULL DEFAULT 0,
    bill_tokens      bigint,
    fleetcost_tokens bigint NOT NULL DEFAULT 0,
    token_diffs      text,
    status           text NOT NULL CONSTRAINT reconcile_variances_status
                     CHECK (status IN ('match', 'bill_higher', 'fleetcost_higher', 'unmapped')),
    PRIMARY KEY (tenant_id, day, run_id)
);

-- The newest run's row per (tenant, day): what the CLI, the API and the alerter read.
-- Variance rows are written in the transaction that marks their run ok, so every row
-- belongs to a successful run. security_invoker: readers see it through
-- reconcile_variances' policy.
CREATE VIEW reconcile_latest WITH (security_invoker = true) AS
    SELECT DISTINCT ON (v.tenant_id, v.day) v.*
      FROM reconcile_variances v
     ORDER BY v.tenant_id, v.day, v.run_id DESC;

-- fleetcost's side of the comparison, the one definition: list cost (cost_nusd) and
-- tokens of the given tenants' usage events per UTC day in [p_from, p_to] and model
-- family (the catalog's name, as the usage report names models).
--
-- UTC days, not the tenant-local days of cost_summaries: the provider's daily buckets
-- are UTC days, and a tenant-local day straddles two of them. Hence raw events, and the
-- range must lie within event retention.
--
-- Only first-party Anthropic API usage is on the Admin API's bill: model ids as the
-- Messages API names them ('claude-…'). Bedrock ids ('anthropic.…', 'us.anthropic.…')
-- are billed by AWS and Vertex ids ('claude-…@date') by Google, so they are left out.
CREATE FUNCTION fc_reconcile_fleetcost_days(p_tenants text[], p_from date, p_to date)
RETURNS TABLE (tenant_id text, day date, model text, cost_nusd bigint, tokens bigint,
               events bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
    SELECT e.tenant_id, (e.event_time AT TIME ZONE 'UTC')::date,
           coalesce(e.model_family, e.model), sum(e.cost_nusd)::bigint,
           sum(e.input_tokens + e.output_tokens + e.cache_read_tokens
               + e.cache_write_5m_tokens + e.cache_write_1h_tokens)::bigint,
           count(*)
      FROM public.events e
     WHERE e.tenant_id = ANY (p_tenants)
       AND e.event_time >= p_from::timestamp AT TIME ZONE 'UTC'
       AND e.event_time < (p_to + 1)::timestamp AT TIME ZONE 'UTC'
       AND e.cost_kind = 'usage'
       AND e.model LIKE 'claude-%' AND e.model NOT LIKE '%@%'
     GROUP BY 1, 2, 3
$$;

-- The alert kind 'reconcile': a tenant-day whose latest variance is beyond the
-- alerter's tolerance (--reconcile-tolerance-nusd / --reconcile-tolerance-pct).
ALTER TABLE cost_alerts DROP CONSTRAINT cost_alerts_kind;
ALTER TABLE cost_alerts ADD CONSTRAINT cost_alerts_kind
    CHECK (kind IN ('threshold', 'forecast', 'runaway', 'no_data', 'unpriced', 'reconcile'));

-- Readers: a tenant key sees its own variance rows; the admin ('*') sees all, the
-- unmapped ones included. Runs, imported bill rows and the map are operator data.
ALTER TABLE reconcile_variances ENABLE ROW LEVEL SECURITY;
CREATE POLICY reconcile_variances_tenant_read ON reconcile_variances FOR SELECT
    TO fleetcost_reader
    USING (tenant_id = current_setting('fleetcost.tenant', true)
           OR current_setting('fleetcost.tenant', true) = '*');
GRANT SELECT ON reconcile_variances, reconcile_latest TO fleetcost_reader;
REVOKE ALL ON provider_workspace_map, provider_costs, provider_usage, reconcile_runs FROM PUBLIC;
