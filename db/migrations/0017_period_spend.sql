-- 0017_period_spend: one definition of a period's spend (issue #16).
--
-- The spend of a tenant over some of its own local days was written four times: in
-- fc_tenant_spend (0005; it never used cost_months), in the reporter's CTEs, in the live
-- stream's SQL and in Redis. Every SQL reader now goes through the functions below:
--
--   fc_local_day, fc_local_start   the tenant-local civil day of an instant, and the
--                                  instant a local day starts (tenants.tz; 'UTC' when the
--                                  tenant has no row)
--   fc_spend_windows               each tenant of a window with its zone and its today
--   fc_spend_closed                the closed tenant-days (final rollups), with their
--                                  'total' rollup row
--   fc_spend_rollups               the closed days' rollups summed per tenant, dimension
--                                  and key, through cost_months where that reads less
--   fc_spend_event_bounds          which instants the open days span, for the events scan
--   fc_spend_events                the raw events of the open days, with their local day
--   fc_period_spend                spend per tenant and local day: the closed days from
--                                  rollups, the open days from events
--   fc_tenant_spend                one tenant's today and month to date (the alerter and
--                                  `fleetcost budget check`)
--
-- A window is three parallel arrays, as the reporter has always passed them: tenant ids,
-- and the first and last local day of each tenant (inclusive). A tenant-day is closed
-- when cost_summaries holds a final 'total' row for it (with p_inday, any 'total' row: the
-- dashboard lets the aggregator's in-day rollups stand for their day); every other day of
-- the window is open and read from events, in the tenant's own time zone.
--
-- Money: every function returns list cost (cost_nusd, from the price catalog) and billed
-- cost (billed_nusd, under the tenant's rate card: 0016). Billed is read from the tables
-- only in the three leaf functions, each line marked "billed:" below: fc_spend_events
-- (events.billed_nusd, NULL meaning billed = list), fc_spend_closed (the daily 'total'
-- rows) and fc_spend_rollup_rows (cost_summaries and cost_months rows). Everything else,
-- here and in the C callers, sums the billed_nusd those return.
--
-- The SQL functions (not plpgsql) are inlined into the query that calls them, so the
-- planner sees through them: row-level security applies as for the caller's own SQL
-- (they are not SECURITY DEFINER), and constant event bounds prune day partitions while
-- planning. Inlining needs LANGUAGE sql, not STRICT, not VOLATILE and no SET clause, so
-- these qualify every table with its schema instead of setting search_path.

-- The local day of instant p_ts in zone p_tz, and the instant local day p_day begins.
-- Immutable like timezone() itself, so a constant argument folds while planning.
CREATE FUNCTION fc_local_day(p_ts timestamptz, p_tz text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (p_ts AT TIME ZONE p_tz)::date $$;

CREATE FUNCTION fc_local_start(p_day date, p_tz text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT p_day::timestamp AT TIME ZONE p_tz $$;

-- Each tenant of a window with its zone and its local today as of p_now. The zone comes
-- from a scalar subquery, not a join: unnest of a constant array is estimated exactly,
-- where a join with tenants under row-level security is estimated at one row, and the
-- planner would then repeat an events scan once per tenant.
CREATE FUNCTION fc_spend_windows(p_tenants text[], p_lo date[], p_hi date[],
                                 p_now timestamptz DEFAULT NULL)
RETURNS TABLE (tenant_id text, tz text, lo date, hi date, today date)
LANGUAGE sql STABLE
AS $$
SELECT x.tenant_id, x.tz, x.lo, x.hi, public.fc_local_day(coalesce(p_now, now()), x.tz)
  FROM (SELECT w.tenant_id, w.lo, w.hi,
               coalesce((SELECT t.tz FROM public.tenants t WHERE t.tenant_id = w.tenant_id),
                        'UTC') AS tz
          FROM unnest(p_tenants, p_lo, p_hi) AS w (tenant_id, lo, hi)) x
$$;

-- The rollup rows the closed days of a window read, with the sign they count with
-- (sg): the daily rows of closed days, and, for a tenant-month whose final days are
-- mostly in the window, its cost_months row (sg 1, day NULL) minus the daily rows of its
-- final days outside the window (sg -1). Sums are linear, so both give the same integers;
-- either way a range costs at most about half a month of daily rows per tenant at each
-- end. p_dims limits the dimensions read (NULL: all of them). cost_months holds final days
-- only (0007), so an in-day rollup always comes from its daily row.
-- billed: rollups' billed cost (0016), read here and in fc_spend_closed.
CREATE FUNCTION fc_spend_rollup_rows(p_tenants text[], p_lo date[], p_hi date[],
                                     p_inday boolean, p_dims text[] DEFAULT NULL)
RETURNS TABLE (sg int, tenant_id text, day date, final boolean, dimension text, key text,
               cost_nusd bigint, billed_nusd bigint, input_tokens bigint,
               output_tokens bigint, cache_read_tokens bigint, cache_write_5m_tokens bigint,
               cache_write_1h_tokens bigint, events bigint, unpriced_events bigint)
LANGUAGE sql STABLE
AS $$
WITH w AS (SELECT * FROM unnest(p_tenants, p_lo, p_hi) AS w (tenant_id, lo, hi)),
fin AS (SELECT s.tenant_id, s.day, s.final
          FROM public.cost_summaries s JOIN w ON w.tenant_id = s.tenant_id
         WHERE s.dimension = 'total' AND s.key = '' AND (s.final OR p_inday)
           AND s.day BETWEEN w.lo AND w.hi),
mon AS (SELECT m.tenant_id, m.month, m.days,
               (1::bigint << (least(w.hi, (m.month + interval '1 month')::date - 1)
                              - m.month + 1))
               - (1::bigint << (greatest(w.lo, m.month) - m.month)) AS want
          FROM public.cost_months m JOIN w ON w.tenant_id = m.tenant_id
         WHERE m.dimension = 'total' AND m.key = ''
           AND m.month BETWEEN date_trunc('month', w.lo::timestamp)::date
                           AND date_trunc('month', w.hi::timestamp)::date),
use AS (SELECT tenant_id, month, days & ~want AS outdays FROM mon
         WHERE bit_count((days & want)::bit(64)) > bit_count((days & ~want)::bit(64))),
dd AS MATERIALIZED (
        SELECT f.tenant_id, f.day, f.final, 1 AS sg FROM fin f
         WHERE NOT (f.final AND (f.tenant_id, date_trunc('month', f.day::timestamp)::date)
                                IN (SELECT tenant_id, month FROM use))
        UNION ALL
        SELECT u.tenant_id, u.month + b.b, true, -1
          FROM use u CROSS JOIN generate_series(0, 30) AS b (b)
         WHERE (u.outdays >> b.b) & 1 = 1)
SELECT dd.sg, s.tenant_id, s.day, s.final, s.dimension, s.key, s.cost_nusd,
       s.billed_nusd, s.input_tokens, s.output_tokens, s.cache_read_tokens,
       s.cache_write_5m_tokens, s.cache_write_1h_tokens, s.events, s.unpriced_events
  FROM dd JOIN public.cost_summaries s
    ON s.tenant_id = dd.tenant_id AND s.day = dd.day AND s.final = dd.final
 WHERE p_dims IS NULL OR s.dimension = ANY (p_dims)
UNION ALL
SELECT 1, m.tenant_id, NULL::date, true, m.dimension, m.key, m.cost_nusd,
       m.billed_nusd, m.input_tokens, m.output_tokens, m.cache_read_tokens,
       m.cache_write_5m_tokens, m.cache_write_1h_tokens, m.events, m.unpriced_events
  FROM public.cost_months m JOIN use u ON u.tenant_id = m.tenant_id AND u.month = m.month
 WHERE p_dims IS NULL OR m.dimension = ANY (p_dims)
$$;

-- The closed tenant-days of a window with their 'total' rollup row (the daily trend, the
-- per-tenant-day figures). final is false for an in-day rollup standing in (p_inday).
CREATE FUNCTION fc_spend_closed(p_tenants text[], p_lo date[], p_hi date[],
                                p_inday boolean DEFAULT false)
RETURNS TABLE (tenant_id text, day date, final boolean, cost_nusd bigint, billed_nusd bigint,
               input_tokens bigint, output_tokens bigint, cache_read_tokens bigint,
               cache_write_5m_tokens bigint, cache_write_1h_tokens bigint, events bigint,
               unpriced_events bigint)
LANGUAGE sql STABLE
AS $$
SELECT s.tenant_id, s.day, s.final, s.cost_nusd,
       s.billed_nusd, -- billed: as in fc_spend_rollup_rows (the same rows)
       s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_5m_tokens,
       s.cache_write_1h_tokens, s.events, s.unpriced_events
  FROM unnest(p_tenants, p_lo, p_hi) AS w (tenant_id, lo, hi)
  JOIN public.cost_summaries s ON s.tenant_id = w.tenant_id
 WHERE s.dimension = 'total' AND s.key = '' AND (s.final OR p_inday)
   AND s.day BETWEEN w.lo AND w.hi
$$;

-- The closed days' rollups summed per tenant, dimension and key.
CREATE FUNCTION fc_spend_rollups(p_tenants text[], p_lo date[], p_hi date[],
                                 p_inday boolean DEFAULT false, p_dims text[] DEFAULT NULL)
RETURNS TABLE (tenant_id text, dimension text, key text, cost_nusd numeric,
               billed_nusd numeric, input_tokens numeric, output_tokens numeric,
               cache_read_tokens numeric, cache_write_5m_tokens numeric,
               cache_write_1h_tokens numeric, events numeric, unpriced_events numeric)
LANGUAGE sql STABLE
AS $$
SELECT r.tenant_id, r.dimension, r.key, sum(r.sg * r.cost_nusd), sum(r.sg * r.billed_nusd),
       sum(r.sg * r.input_tokens), sum(r.sg * r.output_tokens),
       sum(r.sg * r.cache_read_tokens), sum(r.sg * r.cache_write_5m_tokens),
       sum(r.sg * r.cache_write_1h_tokens), sum(r.sg * r.events),
       sum(r.sg * r.unpriced_events)
  FROM public.fc_spend_rollup_rows(p_tenants, p_lo, p_hi, p_inday, p_dims) r
 GROUP BY 1, 2, 3
$$;

-- Where the open days of a window lie, for the events scan: the tenant-days closed
-- (closed_days), the instants [t0, t1) from the start of the earliest open local day to
-- the end of the latest (both NULL when every day is closed), and how many calendar days
-- are open for at least one tenant (open_days). Per tenant the usual shape is closed days
-- from the start of its window and then one run of open days (today, yesterday in its
-- grace period), or no closed day at all: the open days are then one run, found from the
-- count and the bounds of the closed days. Only a tenant with gaps (a rebuilt day, a
-- hole) is walked day by day; NOT IN becomes a hashed subplan.
--
-- A caller passes t0 and t1 on to fc_spend_events as constants, so that the planner
-- prunes the events' day partitions (and the BRIN index the blocks) to the open days.
-- Instants rather than dates: with tenants from Tokyo to New York, today's local days
-- span about 38 hours of UTC, where whole UTC days around them would be 72.
CREATE FUNCTION fc_spend_event_bounds(p_tenants text[], p_lo date[], p_hi date[],
                                      p_inday boolean DEFAULT false)
RETURNS TABLE (closed_days bigint, t0 timestamptz, t1 timestamptz, open_days bigint)
LANGUAGE sql STABLE
AS $$
WITH w AS (SELECT * FROM public.fc_spend_windows(p_tenants, p_lo, p_hi)),
fin AS (SELECT c.tenant_id, c.day FROM public.fc_spend_closed(p_tenants, p_lo, p_hi, p_inday) c),
fs AS (SELECT w.tenant_id, w.tz, w.lo, w.hi, count(f.day) AS n, max(f.day) AS fmax,
              count(f.day) = 0 OR (min(f.day) = w.lo AND max(f.day) - w.lo + 1 = count(f.day))
                AS run
         FROM w LEFT JOIN fin f ON f.tenant_id = w.tenant_id GROUP BY 1, 2, 3, 4),
need AS (SELECT tz, CASE WHEN n = 0 THEN lo ELSE fmax + 1 END AS a, hi AS b FROM fs
          WHERE run AND (n = 0 OR fmax < hi)
         UNION ALL
         SELECT fs.tz, d::date, d::date
           FROM fs, generate_series(fs.lo, fs.hi, interval '1 day') d
          WHERE NOT run AND (fs.tenant_id, d::date) NOT IN (SELECT tenant_id, day FROM fin))
SELECT (SELECT coalesce(sum(n), 0) FROM fs)::bigint,
       min(public.fc_local_start(a, tz)), max(public.fc_local_start(b + 1, tz)),
       (SELECT count(DISTINCT d) FROM need, generate_series(a, b, interval '1 day') d)
  FROM need
$$;

-- The raw events of the open days of a window, each with its tenant-local day: every
-- event of a tenant's window whose day is not closed. p_t0 and p_t1 bound the scan and
-- must cover the open days (fc_spend_event_bounds gives the tightest such bounds; given
-- as constants they prune partitions at planning); p_t1 <= p_t0 reads nothing. Only
-- events with a cost kind count (lifecycle events carry no cost).
-- billed: events' billed cost, read here only (NULL: no rate card in force, billed = list).
CREATE FUNCTION fc_spend_events(p_tenants text[], p_lo date[], p_hi date[], p_inday boolean,
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
   AND (x.tenant_id, x.day) NOT IN (
         SELECT c.tenant_id, c.day FROM public.fc_spend_closed(p_tenants, p_lo, p_hi, p_inday) c
          WHERE c.day >= (p_t0 AT TIME ZONE 'UTC')::date - 1
            AND c.day <= (p_t1 AT TIME ZONE 'UTC')::date + 1)
$$;

-- Spend per tenant and local day over a window: a closed day from its 'total' rollup
-- row (rollup true), an open day from its events (rollup false; a day without events
-- has no row). The events' bounds are found first and spliced in as constants
-- (EXECUTE), so that only the open days' partitions are planned and read.
CREATE FUNCTION fc_period_spend(p_tenants text[], p_lo date[], p_hi date[],
                                p_inday boolean DEFAULT false)
RETURNS TABLE (tenant_id text, day date, rollup boolean, cost_nusd bigint, billed_nusd bigint,
               events bigint, unpriced_events bigint)
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
        SELECT c.tenant_id, c.day, true, c.cost_nusd, c.billed_nusd, c.events,
               c.unpriced_events
          FROM public.fc_spend_closed($1, $2, $3, $4) c
        UNION ALL
        SELECT e.tenant_id, e.day, false, sum(e.cost_nusd)::bigint, sum(e.billed_nusd)::bigint,
               count(*), count(*) FILTER (WHERE e.unpriced)
          FROM public.fc_spend_events($1, $2, $3, $4, %L, %L) e
         GROUP BY 1, 2$q$, coalesce(v_t0, 'epoch'), coalesce(v_t1, 'epoch'))
    USING p_tenants, p_lo, p_hi, p_inday;
END
$$;

-- One tenant's spend as of p_now in its own zone: today's and this month's (to date)
-- list and billed totals, with the local day and month they belong to. The alerter's
-- periodic re-evaluation and `fleetcost budget check` read it, so the gate and the alerts
-- never disagree, and both agree with the reporter (the same fc_period_spend). Replaces
-- 0016's (0005's with the billed pair), which read the days after the first open one
-- from events even when closed and never used cost_months; same columns.
CREATE OR REPLACE FUNCTION fc_tenant_spend(p_tenant text, p_now timestamptz)
RETURNS TABLE (tz text, day date, month text, day_nusd bigint, month_nusd bigint,
               day_billed_nusd bigint, month_billed_nusd bigint)
LANGUAGE sql STABLE
AS $$
WITH z AS (SELECT coalesce((SELECT t.tz FROM public.tenants t WHERE t.tenant_id = p_tenant),
                           'UTC') AS tz),
d AS (SELECT z.tz, public.fc_local_day(p_now, z.tz) AS today FROM z)
SELECT d.tz, d.today, to_char(d.today, 'YYYY-MM'),
       coalesce(sum(s.cost_nusd) FILTER (WHERE s.day = d.today), 0)::bigint,
       coalesce(sum(s.cost_nusd), 0)::bigint,
       coalesce(sum(s.billed_nusd) FILTER (WHERE s.day = d.today), 0)::bigint,
       coalesce(sum(s.billed_nusd), 0)::bigint
  FROM d LEFT JOIN LATERAL public.fc_period_spend(
           ARRAY[p_tenant], ARRAY[date_trunc('month', d.today::timestamp)::date],
           ARRAY[d.today]) s ON true
 GROUP BY d.tz, d.today
$$;
