-- Monthly rollups, so that long and all-tenant reads do not sum a row per tenant-day.
--
-- A year of daily rollups for 100 tenants is 1.4M cost_summaries rows; an all-tenant
-- monthly report had to read and regroup 121k of them (1.4 s) and an all-tenant 30-day
-- dashboard about as many (issue 7 asks for 200 ms). cost_months holds, per tenant,
-- month, dimension and key, the sum of that month's FINAL daily rows, kept in step by
-- statement triggers on cost_summaries: whatever writes final rollups (the aggregator,
-- reprice, a restore) keeps the months right in the same transaction, without knowing
-- about them. Non-final (in-day) rows never reach cost_months; readers take those days
-- from events, as before.
--
-- The 'total' row of a month carries days: bit d-1 is set when day d of the month has a
-- final total row. A reader that needs only some of a month's final days uses the month
-- row minus the daily rows of the days it does not want when that is fewer rows, and
-- the daily rows otherwise, so any range costs at most about half a month of daily rows
-- per tenant at each end (sums are linear, so the subtraction is exact).
--
-- The partial index serves the "which tenant-days are final (or rolled up in-day)"
-- lookups and the daily trend; it holds one entry per tenant-day.
CREATE TABLE cost_months (
    tenant_id             text NOT NULL,
    month                 date NOT NULL CONSTRAINT cost_months_first CHECK (extract(day FROM month) = 1),
    dimension             text NOT NULL,
    key                   text NOT NULL,
    cost_nusd             bigint NOT NULL DEFAULT 0,
    input_tokens          bigint NOT NULL DEFAULT 0,
    output_tokens         bigint NOT NULL DEFAULT 0,
    cache_read_tokens     bigint NOT NULL DEFAULT 0,
    cache_write_5m_tokens bigint NOT NULL DEFAULT 0,
    cache_write_1h_tokens bigint NOT NULL DEFAULT 0,
    events                bigint NOT NULL DEFAULT 0,
    unpriced_events       bigint NOT NULL DEFAULT 0,
    days                  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, month, dimension, key)
);
CREATE INDEX cost_months_month ON cost_months (month) WHERE dimension = 'total';

CREATE INDEX cost_summaries_total ON cost_summaries (day, tenant_id)
    WHERE dimension = 'total' AND key = '';

-- Applies a statement's change of final rows to cost_months: the final rows after it
-- (new_rows, INSERT and UPDATE) minus the final rows before it (old_rows, UPDATE and
-- DELETE), as one upsert of signed sums. Rows are upserted in key order so that two
-- writers lock month rows in the same order. A transition table exists only for the
-- operations that have it, hence the query text is assembled per operation. The
-- aggregator's in-day upserts (not final before or after) are most statements: they
-- leave before any of it.
CREATE FUNCTION fc_cost_months_apply() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_cols CONSTANT text := 'tenant_id, day, dimension, key, cost_nusd, input_tokens,'
        ' output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens,'
        ' events, unpriced_events';
    v_src text[] := '{}';
BEGIN
    IF TG_OP <> 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM new_rows WHERE final) THEN
            v_src := v_src || format($q$SELECT 1, %s,
                       CASE WHEN dimension = 'total' AND key = ''
                            THEN 1::bigint << (extract(day FROM day)::int - 1) ELSE 0 END
                  FROM new_rows WHERE final$q$, v_cols);
        END IF;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM old_rows WHERE final) THEN
            v_src := v_src || format('SELECT -1, %s, 0::bigint FROM old_rows WHERE final', v_cols);
            -- days first loses the bits of the old final total rows; the upsert then
            -- ORs in those of the new ones (a row updated in place regains its bit).
            UPDATE public.cost_months m SET days = m.days & ~x.bits
              FROM (SELECT o.tenant_id, date_trunc('month', o.day)::date AS month,
                           bit_or(1::bigint << (extract(day FROM o.day)::int - 1)) AS bits
                      FROM old_rows o WHERE o.final AND o.dimension = 'total' AND o.key = ''
                     GROUP BY 1, 2) x
             WHERE m.tenant_id = x.tenant_id AND m.month = x.month AND m.dimension = 'total'
               AND m.key = '';
        END IF;
    END IF;
    IF cardinality(v_src) = 0 THEN
        RETURN NULL;
    END IF;
    EXECUTE format($q$
    INSERT INTO public.cost_months AS m
    SELECT d.tenant_id, date_trunc('month', d.day)::date, d.dimension, d.key,
           sum(d.sg * d.cost_nusd), sum(d.sg * d.input_tokens), sum(d.sg * d.output_tokens),
           sum(d.sg * d.cache_read_tokens), sum(d.sg * d.cache_write_5m_tokens),
           sum(d.sg * d.cache_write_1h_tokens), sum(d.sg * d.events),
           sum(d.sg * d.unpriced_events), coalesce(bit_or(d.bit) FILTER (WHERE d.sg = 1), 0)
      FROM (%s) AS d (sg, %s, bit)
     GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, month, dimension, key) DO UPDATE SET
        cost_nusd = m.cost_nusd + EXCLUDED.cost_nusd,
        input_tokens = m.input_tokens + EXCLUDED.input_tokens,
        output_tokens = m.output_tokens + EXCLUDED.output_tokens,
        cache_read_tokens = m.cache_read_tokens + EXCLUDED.cache_read_tokens,
        cache_write_5m_tokens = m.cache_write_5m_tokens + EXCLUDED.cache_write_5m_tokens,
        cache_write_1h_tokens = m.cache_write_1h_tokens + EXCLUDED.cache_write_1h_tokens,
        events = m.events + EXCLUDED.events,
        unpriced_events = m.unpriced_events + EXCLUDED.unpriced_events,
        days = m.days | EXCLUDED.days$q$, array_to_string(v_src, ' UNION ALL '), v_cols);
    RETURN NULL;
END
$$;

CREATE TRIGGER cost_months_insert AFTER INSERT ON cost_summaries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION fc_cost_months_apply();
CREATE TRIGGER cost_months_update AFTER UPDATE ON cost_summaries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION fc_cost_months_apply();
CREATE TRIGGER cost_months_delete AFTER DELETE ON cost_summaries
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION fc_cost_months_apply();

CREATE FUNCTION fc_cost_months_truncate() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    TRUNCATE public.cost_months;
    RETURN NULL;
END
$$;
CREATE TRIGGER cost_months_truncate AFTER TRUNCATE ON cost_summaries
    FOR EACH STATEMENT EXECUTE FUNCTION fc_cost_months_truncate();

-- What is already final.
INSERT INTO cost_months
SELECT tenant_id, date_trunc('month', day)::date, dimension, key,
       sum(cost_nusd), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
       sum(cache_write_5m_tokens), sum(cache_write_1h_tokens), sum(events),
       sum(unpriced_events),
       bit_or(CASE WHEN dimension = 'total' AND key = ''
                   THEN 1::bigint << (extract(day FROM day)::int - 1) ELSE 0 END)
  FROM cost_summaries WHERE final
 GROUP BY 1, 2, 3, 4;

ALTER TABLE cost_months ENABLE ROW LEVEL SECURITY;
CREATE POLICY cost_months_tenant_read ON cost_months FOR SELECT TO fleetcost_reader
    USING (tenant_id = current_setting('fleetcost.tenant', true)
           OR current_setting('fleetcost.tenant', true) = '*');
GRANT SELECT ON cost_months TO fleetcost_reader;

-- All-tenant reads of a few days (the edges of a range around cost_months) scan by day.
CREATE INDEX cost_summaries_day ON cost_summaries (day);
