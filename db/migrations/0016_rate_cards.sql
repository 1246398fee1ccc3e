-- 0016: contract rate cards per tenant (issue 18; docs/RECONCILE.md §4).
--
-- A rate card is one effective-dated version of a tenant's contract: a signed
-- adjustment of list cost in basis points (-1500 = 15 % off, +1000 = 10 % markup),
-- per-model-family overrides that replace it, and a flat fee per tenant-local month.
-- Versions are never edited in place: `fleetcost rate set` adds a version and closes
-- the one before it (effective_to is the only column ever written after insert, and
-- only from NULL or later to earlier: a trigger enforces it). At most one version is in
-- force per tenant per instant (the same trigger; an empty version, from = to, is one
-- that a later version superseded before it began).
--
-- Every event keeps its list cost (cost_nusd); its billed cost, computed per event by
-- ingest (and by `reprice` / `rate` restatements) with lib/fc_rate, goes to
-- events.billed_nusd, NULL meaning "no rate card in force: billed = list", so adding the
-- column rewrites no event. Rollups carry billed next to list.

CREATE TABLE rate_cards (
    tenant_id        text NOT NULL REFERENCES tenants,
    version          int NOT NULL CONSTRAINT rate_cards_version CHECK (version > 0),
    effective_from   timestamptz NOT NULL,
    effective_to     timestamptz,   -- exclusive; NULL = open
    bp               int NOT NULL CONSTRAINT rate_cards_bp CHECK (bp BETWEEN -10000 AND 100000),
    monthly_fee_nusd bigint NOT NULL DEFAULT 0 CONSTRAINT rate_cards_fee CHECK (monthly_fee_nusd >= 0),
    note             text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text,
    PRIMARY KEY (tenant_id, version),
    CONSTRAINT rate_cards_range CHECK (effective_to IS NULL OR effective_to >= effective_from)
);

CREATE TABLE rate_card_overrides (
    tenant_id text NOT NULL,
    version   int NOT NULL,
    family    text NOT NULL CONSTRAINT rate_card_overrides_family
              CHECK (family ~ '^[a-z0-9.]([a-z0-9.-]{0,61}[a-z0-9.])?$'),
    bp        int NOT NULL CONSTRAINT rate_card_overrides_bp CHECK (bp BETWEEN -10000 AND 100000),
    PRIMARY KEY (tenant_id, version, family),
    FOREIGN KEY (tenant_id, version) REFERENCES rate_cards
);

-- Versions are immutable but for closing, and never overlap.
CREATE FUNCTION fc_rate_cards_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'rate card versions are never deleted (tenant %, version %)',
            OLD.tenant_id, OLD.version;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF (NEW.tenant_id, NEW.version, NEW.effective_from, NEW.bp, NEW.monthly_fee_nusd,
            NEW.note, NEW.created_at, NEW.created_by)
           IS DISTINCT FROM (OLD.tenant_id, OLD.version, OLD.effective_from, OLD.bp,
                             OLD.monthly_fee_nusd, OLD.note, OLD.created_at, OLD.created_by)
           OR NEW.effective_to IS NULL AND OLD.effective_to IS NOT NULL
           OR NEW.effective_to > OLD.effective_to THEN
            RAISE EXCEPTION 'rate card % of % is not edited in place: only closed earlier',
                OLD.version, OLD.tenant_id;
        END IF;
    END IF;
    IF NEW.effective_from < coalesce(NEW.effective_to, 'infinity') AND EXISTS (
        SELECT 1 FROM public.rate_cards c
         WHERE c.tenant_id = NEW.tenant_id AND c.version <> NEW.version
           AND c.effective_from < coalesce(c.effective_to, 'infinity')
           AND tstzrange(c.effective_from, c.effective_to)
               && tstzrange(NEW.effective_from, NEW.effective_to)) THEN
        RAISE EXCEPTION 'rate card % of % overlaps another version', NEW.version, NEW.tenant_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER rate_cards_guard BEFORE INSERT OR UPDATE OR DELETE ON rate_cards
    FOR EACH ROW EXECUTE FUNCTION fc_rate_cards_guard();

ALTER TABLE events ADD COLUMN billed_nusd bigint;
ALTER TABLE events ADD COLUMN rate_card_version int;

ALTER TABLE restatements ADD COLUMN old_billed_nusd bigint;
ALTER TABLE restatements ADD COLUMN new_billed_nusd bigint;
ALTER TABLE restatements ADD COLUMN reason text;

-- Rollups: billed next to list. Existing rows were made before any rate card: billed =
-- list. The backfill of cost_summaries must not fire the cost_months trigger (it would
-- subtract the old NULLs); cost_months gets the same backfill directly.
ALTER TABLE cost_summaries ADD COLUMN billed_nusd bigint;
ALTER TABLE cost_months ADD COLUMN billed_nusd bigint;
ALTER TABLE cost_summaries DISABLE TRIGGER cost_months_update;
UPDATE cost_summaries SET billed_nusd = cost_nusd;
ALTER TABLE cost_summaries ENABLE TRIGGER cost_months_update;
UPDATE cost_months SET billed_nusd = cost_nusd;
ALTER TABLE cost_summaries ALTER COLUMN billed_nusd SET DEFAULT 0,
    ALTER COLUMN billed_nusd SET NOT NULL;
ALTER TABLE cost_months ALTER COLUMN billed_nusd SET DEFAULT 0,
    ALTER COLUMN billed_nusd SET NOT NULL;

CREATE OR REPLACE FUNCTION fc_cost_months_apply() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_cols CONSTANT text := 'tenant_id, day, dimension, key, cost_nusd, input_tokens,'
        ' output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens,'
        ' events, unpriced_events, billed_nusd';
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
           sum(d.sg * d.unpriced_events), coalesce(bit_or(d.bit) FILTER (WHERE d.sg = 1), 0),
           sum(d.sg * d.billed_nusd)
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
        days = m.days | EXCLUDED.days,
        billed_nusd = m.billed_nusd + EXCLUDED.billed_nusd$q$, array_to_string(v_src, ' UNION ALL '), v_cols);
    RETURN NULL;
END
$$;


-- Budgets say which cost they watch: billed (under the tenant's rate card; the default)
-- or list. fc_tenant_spend (0005) gains the billed pair for them, the same definition
-- otherwise; the columns change, hence DROP and CREATE.
ALTER TABLE budgets ADD COLUMN basis text NOT NULL DEFAULT 'billed'
    CONSTRAINT budgets_basis CHECK (basis IN ('billed', 'list'));
DROP FUNCTION fc_tenant_spend(text, timestamptz);
CREATE FUNCTION fc_tenant_spend(p_tenant text, p_now timestamptz)
RETURNS TABLE (tz text, day date, month text, day_nusd bigint, month_nusd bigint,
               day_billed_nusd bigint, month_billed_nusd bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_tz         text;
    v_today      date;
    v_m0         date;
    v_open       date;
    v_final      bigint;
    v_final_b    bigint;
    v_day_start  timestamptz;
    v_day_end    timestamptz;
    v_open_start timestamptz;
BEGIN
    SELECT t.tz INTO v_tz FROM public.tenants t WHERE t.tenant_id = p_tenant;
    v_tz := coalesce(v_tz, 'UTC');
    v_today := (p_now AT TIME ZONE v_tz)::date;
    v_m0 := date_trunc('month', v_today)::date;
    SELECT min(d)::date INTO v_open
      FROM generate_series(v_m0, v_today, interval '1 day') d
     WHERE NOT EXISTS (SELECT 1 FROM public.cost_summaries s
                        WHERE s.tenant_id = p_tenant AND s.day = d::date
                          AND s.dimension = 'total' AND s.key = '' AND s.final);
    v_open := coalesce(v_open, v_today);
    SELECT coalesce(sum(s.cost_nusd), 0), coalesce(sum(s.billed_nusd), 0) INTO v_final, v_final_b
      FROM public.cost_summaries s
     WHERE s.tenant_id = p_tenant AND s.dimension = 'total' AND s.key = '' AND s.final
       AND s.day >= v_m0 AND s.day < v_open;
    v_day_start := v_today::timestamp AT TIME ZONE v_tz;
    v_day_end := (v_today + 1)::timestamp AT TIME ZONE v_tz;
    v_open_start := v_open::timestamp AT TIME ZONE v_tz;
    RETURN QUERY
    SELECT v_tz, v_today, to_char(v_today, 'YYYY-MM'),
           coalesce(sum(e.cost_nusd) FILTER (WHERE e.event_time >= v_day_start), 0)::bigint,
           (v_final + coalesce(sum(e.cost_nusd), 0))::bigint,
           coalesce(sum(coalesce(e.billed_nusd, e.cost_nusd))
                    FILTER (WHERE e.event_time >= v_day_start), 0)::bigint,
           (v_final_b + coalesce(sum(coalesce(e.billed_nusd, e.cost_nusd)), 0))::bigint
      FROM public.events e
     WHERE e.tenant_id = p_tenant AND e.event_time >= v_open_start AND e.event_time < v_day_end;
END
$$;

ALTER TABLE rate_cards ENABLE ROW LEVEL SECURITY;
ALTER TABLE rate_card_overrides ENABLE ROW LEVEL SECURITY;
CREATE POLICY rate_cards_tenant_read ON rate_cards FOR SELECT TO fleetcost_reader
    USING (tenant_id = current_setting('fleetcost.tenant', true)
           OR current_setting('fleetcost.tenant', true) = '*');
CREATE POLICY rate_card_overrides_tenant_read ON rate_card_overrides FOR SELECT TO fleetcost_reader
    USING (tenant_id = current_setting('fleetcost.tenant', true)
           OR current_setting('fleetcost.tenant', true) = '*');
GRANT SELECT ON rate_cards, rate_card_overrides TO fleetcost_reader;
