-- 0018_spend_kinds_fees: what `fleetcost billing` needs from the one home of period spend
-- (0017, issue #16), so that the bill reads no event, rollup or local-day SQL of its own:
--
--   fc_window_events        every event of a window with its tenant-local day, closed or
--                           not (the FOCUS export splits each day by model and cost kind,
--                           which no rollup holds); fc_spend_events is now this minus the
--                           closed days, so both read events with one definition
--   fc_period_spend_kinds   a window's spend per tenant and cost kind, list and billed,
--                           with tokens and counts: the closed days from their 'kind'
--                           rollups, the open days from events (as fc_period_spend per day)
--   fc_spend_fees           the flat monthly fee of each tenant's rate card (0016) for a
--                           window of one local month
--
-- Same conventions as 0017: LANGUAGE sql functions are inlined (schema-qualified, no SET),
-- the plpgsql one splices the events' bounds in as constants so partitions prune.

-- Every event with a cost kind of a window, with its tenant-local day: the events whose
-- local day lies in the tenant's lo..hi, scanned within [p_t0, p_t1) (which must cover
-- the window's days; constants prune the day partitions while planning).
-- billed: events' billed cost (NULL: no rate card in force, billed = list); 0017's
-- fc_spend_events reads it from here.
CREATE FUNCTION fc_window_events(p_tenants text[], p_lo date[], p_hi date[],
                                 p_t0 timestamptz, p_t1 timestamptz)
RETURNS TABLE (tenant_id text, day date, event_time timestamptz, event_type text,
               agent_id text, agent_type text, task_id text, model_family text,
               cost_kind text, cost_nusd bigint, billed_nusd bigint, input_tokens bigint,
               output_tokens bigint, cache_read_tokens bigint, cache_write_5m_tokens bigint,
               cache_write_1h_tokens bigint, unpriced boolean, reported_cost_nusd bigint,
               price_version int, price_tiered boolean, speed text)
LANGUAGE sql STABLE
AS $$
SELECT x.tenant_id, x.day, x.event_time, x.event_type, x.agent_id, x.agent_type, x.task_id,
       x.model_family, x.cost_kind, x.cost_nusd, x.billed_nusd, x.input_tokens,
       x.output_tokens, x.cache_read_tokens, x.cache_write_5m_tokens,
       x.cache_write_1h_tokens, x.unpriced, x.reported_cost_nusd, x.price_version,
       x.price_tiered, x.speed
  FROM (WITH w AS MATERIALIZED (SELECT * FROM public.fc_spend_windows(p_tenants, p_lo, p_hi))
        SELECT e.tenant_id, public.fc_local_day(e.event_time, w.tz) AS day, w.lo, w.hi,
               e.event_time, e.event_type, e.agent_id, e.agent_type, e.task_id,
               e.model_family, e.cost_kind, e.cost_nusd,
               coalesce(e.billed_nusd, e.cost_nusd) AS billed_nusd,
               e.input_tokens, e.output_tokens, e.cache_read_tokens,
               e.cache_write_5m_tokens, e.cache_write_1h_tokens, e.unpriced,
               e.reported_cost_nusd, e.price_version, e.price_tiered, e.speed
          FROM public.events e JOIN w ON w.tenant_id = e.tenant_id
         WHERE e.cost_kind IS NOT NULL AND e.event_time >= p_t0 AND e.event_time < p_t1) x
 WHERE x.day BETWEEN x.lo AND x.hi
$$;

-- 0017's definition, unchanged in meaning and columns: the window's events without the
-- closed days.
CREATE OR REPLACE FUNCTION fc_spend_events(p_tenants text[], p_lo date[], p_hi date[],
                                           p_inday boolean, p_t0 timestamptz,
                                           p_t1 timestamptz)
RETURNS TABLE (tenant_id text, day date, event_time timestamptz, event_type text,
               agent_id text, agent_type text, task_id text, model_family text,
               cost_kind text, cost_nusd bigint, billed_nusd bigint, input_tokens bigint,
               output_tokens bigint, cache_read_tokens bigint, cache_write_5m_tokens bigint,
               cache_write_1h_tokens bigint, unpriced boolean, reported_cost_nusd bigint,
               price_version int, price_tiered boolean, speed text)
LANGUAGE sql STABLE
AS $$
SELECT x.* FROM public.fc_window_events(p_tenants, p_lo, p_hi, p_t0, p_t1) x
 WHERE (x.tenant_id, x.day) NOT IN (
         SELECT c.tenant_id, c.day FROM public.fc_spend_closed(p_tenants, p_lo, p_hi, p_inday) c
          WHERE c.day >= (p_t0 AT TIME ZONE 'UTC')::date - 1
            AND c.day <= (p_t1 AT TIME ZONE 'UTC')::date + 1)
$$;

-- A window's spend per tenant and cost kind (the bill's lines): closed days from their
-- 'kind' rollups (fc_spend_rollups), open days from their events (fc_spend_events), so
-- the lines of a tenant add up to its fc_period_spend days. A line with neither events
-- nor cost is left out. Sums beyond bigint raise an error rather than wrap.
CREATE FUNCTION fc_period_spend_kinds(p_tenants text[], p_lo date[], p_hi date[],
                                      p_inday boolean DEFAULT false)
RETURNS TABLE (tenant_id text, cost_kind text, cost_nusd bigint, billed_nusd bigint,
               input_tokens bigint, output_tokens bigint, cache_read_tokens bigint,
               cache_write_5m_tokens bigint, cache_write_1h_tokens bigint, events bigint,
               unpriced_events bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_t0 timestamptz;
    v_t1 timestamptz;
BEGIN
    SELECT b.t0, b.t1 INTO v_t0, v_t1
      FROM public.fc_spend_event_bounds(p_tenants, p_lo, p_hi, p_inday) b;
    RETURN QUERY EXECUTE format($q$
        SELECT u.tenant_id, u.cost_kind, sum(u.c)::bigint, sum(u.b)::bigint, sum(u.i)::bigint,
               sum(u.o)::bigint, sum(u.cr)::bigint, sum(u.w5)::bigint, sum(u.w1)::bigint,
               sum(u.n)::bigint, sum(u.un)::bigint
          FROM (SELECT r.tenant_id, r.key AS cost_kind, r.cost_nusd AS c, r.billed_nusd AS b,
                       r.input_tokens AS i, r.output_tokens AS o, r.cache_read_tokens AS cr,
                       r.cache_write_5m_tokens AS w5, r.cache_write_1h_tokens AS w1,
                       r.events AS n, r.unpriced_events AS un
                  FROM public.fc_spend_rollups($1, $2, $3, $4, ARRAY['kind']) r
                UNION ALL
                SELECT e.tenant_id, e.cost_kind, sum(e.cost_nusd), sum(e.billed_nusd),
                       sum(e.input_tokens), sum(e.output_tokens), sum(e.cache_read_tokens),
                       sum(e.cache_write_5m_tokens), sum(e.cache_write_1h_tokens), count(*),
                       count(*) FILTER (WHERE e.unpriced)
                  FROM public.fc_spend_events($1, $2, $3, $4, %L, %L) e
                 GROUP BY 1, 2) u
         GROUP BY 1, 2
        HAVING sum(u.n) > 0 OR sum(u.c) <> 0 OR sum(u.b) <> 0$q$,
        coalesce(v_t0, 'epoch'), coalesce(v_t1, 'epoch'))
    USING p_tenants, p_lo, p_hi, p_inday;
END
$$;

-- The flat monthly fee (0016) each tenant of a window owes for it, the window being one
-- tenant-local month per tenant: the fee of the latest rate-card version in force at
-- some instant of that month, whole (no proration: docs/RECONCILE.md §4.6). Tenants whose
-- card has no fee (or no card) have no row.
CREATE FUNCTION fc_spend_fees(p_tenants text[], p_lo date[], p_hi date[])
RETURNS TABLE (tenant_id text, version int, monthly_fee_nusd bigint)
LANGUAGE sql STABLE
AS $$
SELECT w.tenant_id, c.version, c.monthly_fee_nusd
  FROM public.fc_spend_windows(p_tenants, p_lo, p_hi) w
 CROSS JOIN LATERAL (
       SELECT c.version, c.monthly_fee_nusd FROM public.rate_cards c
        WHERE c.tenant_id = w.tenant_id
          AND c.effective_from < coalesce(c.effective_to, 'infinity')
          AND c.effective_from < public.fc_local_start(w.hi + 1, w.tz)
          AND coalesce(c.effective_to, 'infinity') > public.fc_local_start(w.lo, w.tz)
        ORDER BY c.effective_from DESC LIMIT 1) c
 WHERE c.monthly_fee_nusd > 0
$$;
