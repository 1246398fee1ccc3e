-- 0022_spend_reads: the two reads every report makes before its figures, planned for a
-- window of many tenants (issue #19; docs/BENCHMARKS.md "The 30-day all-tenant report").
-- The results are the same as 0017's; only the way to them changes. And fc_spend_open
-- (0021) returns the events its groups do not hold summed at the groups' grain (below).
--
-- Measured on the year-of-100-tenants seed (it_reporter_perf.sh), 30 days of all tenants,
-- in a warm connection as the reporter:
--   fc_spend_event_bounds  39 ms: its per-tenant counts joined each closed day with
--                          fc_spend_windows, whose zone subquery then ran once per
--                          closed day (2,900 seq scans of tenants). The windows are
--                          now materialised first: one zone lookup per tenant.
--   fc_spend_rollup_rows   49-105 ms, of which 14 ms found the month rollups to use
--                          (cost_months' 'total' rows of every tenant and month tested
--                          against every tenant of the window: 130,000 comparisons) and
--                          17 ms probed each tenant's closed days only to drop those the
--                          month rows cover. Now the month rows are looked up per tenant
--                          and month (the primary key), and the daily 'total' rows are
--                          read only for months without a month row, plus the in-day
--                          rows (p_inday) of months with one, found through a partial
--                          index of the non-final 'total' rows (a few per tenant: today,
--                          and yesterday in its grace period).

CREATE INDEX cost_summaries_open_total ON cost_summaries (tenant_id, day)
    WHERE dimension = 'total' AND key = '' AND NOT final;

CREATE OR REPLACE FUNCTION fc_spend_event_bounds(p_tenants text[], p_lo date[], p_hi date[],
                                                 p_inday boolean DEFAULT false)
RETURNS TABLE (closed_days bigint, t0 timestamptz, t1 timestamptz, open_days bigint)
LANGUAGE sql STABLE
AS $$
WITH w AS MATERIALIZED (SELECT * FROM public.fc_spend_windows(p_tenants, p_lo, p_hi)),
fin AS (SELECT c.tenant_id, c.day FROM public.fc_spend_closed(p_tenants, p_lo, p_hi, p_inday) c),
fc AS (SELECT f.tenant_id, count(*) AS n, min(f.day) AS fmin, max(f.day) AS fmax
         FROM fin f GROUP BY 1),
fs AS (SELECT w.tenant_id, w.tz, w.lo, w.hi, coalesce(fc.n, 0) AS n, fc.fmax,
              fc.n IS NULL OR (fc.fmin = w.lo AND fc.fmax - w.lo + 1 = fc.n) AS run
         FROM w LEFT JOIN fc ON fc.tenant_id = w.tenant_id),
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

-- As 0017: the daily rows of closed days, and for a tenant-month whose final days are
-- mostly in the window its cost_months row (sg 1) minus the daily rows of its final days
-- outside the window (sg -1); in-day rows (p_inday) always from their daily row.
CREATE OR REPLACE FUNCTION fc_spend_rollup_rows(p_tenants text[], p_lo date[], p_hi date[],
                                                p_inday boolean, p_dims text[] DEFAULT NULL)
RETURNS TABLE (sg int, tenant_id text, day date, final boolean, dimension text, key text,
               cost_nusd bigint, billed_nusd bigint, input_tokens bigint,
               output_tokens bigint, cache_read_tokens bigint, cache_write_5m_tokens bigint,
               cache_write_1h_tokens bigint, events bigint, unpriced_events bigint)
LANGUAGE sql STABLE
AS $$
WITH w AS MATERIALIZED (SELECT * FROM unnest(p_tenants, p_lo, p_hi) AS w (tenant_id, lo, hi)),
-- each month of each tenant's window, with the days of it in the window. The lookups
-- below are LATERAL with OFFSET 0, so that each stays an index probe per tenant-month:
-- Postgres, which cannot estimate generate_series nor row-level security's filter, would
-- otherwise join the whole year of 'total' rows by hash.
wm AS MATERIALIZED (
        SELECT w.tenant_id, mo.m::date AS month, greatest(w.lo, mo.m::date) AS a,
               least(w.hi, (mo.m + interval '1 month')::date - 1) AS b
          FROM w, generate_series(date_trunc('month', w.lo::timestamp),
                                  date_trunc('month', w.hi::timestamp), interval '1 month')
                  AS mo (m)),
use AS MATERIALIZED (
        SELECT x.tenant_id, x.month, x.days & ~x.want AS outdays
          FROM (SELECT wm.tenant_id, wm.month, m.days,
                       (1::bigint << (wm.b - wm.month + 1)) - (1::bigint << (wm.a - wm.month))
                         AS want
                  FROM wm CROSS JOIN LATERAL (
                         SELECT c.days FROM public.cost_months c
                          WHERE c.tenant_id = wm.tenant_id AND c.month = wm.month
                            AND c.dimension = 'total' AND c.key = '' OFFSET 0) m) x
         WHERE bit_count((x.days & x.want)::bit(64)) > bit_count((x.days & ~x.want)::bit(64))),
-- the months without a month row
wn AS MATERIALIZED (
        SELECT wm.* FROM wm
         WHERE NOT EXISTS (SELECT 1 FROM use u
                            WHERE u.tenant_id = wm.tenant_id AND u.month = wm.month)),
dd AS MATERIALIZED (
        -- months without a month row: their closed days (and in-day rows)
        SELECT s.tenant_id, s.day, s.final, 1 AS sg
          FROM wn CROSS JOIN LATERAL (
                 SELECT c.tenant_id, c.day, c.final FROM public.cost_summaries c
                  WHERE c.tenant_id = wn.tenant_id AND c.day BETWEEN wn.a AND wn.b
                    AND c.dimension = 'total' AND c.key = '' AND (c.final OR p_inday)
                 OFFSET 0) s
        UNION ALL
        -- months with one: their in-day rows, through the partial index
        SELECT s.tenant_id, s.day, false, 1
          FROM use u JOIN wm ON wm.tenant_id = u.tenant_id AND wm.month = u.month
         CROSS JOIN LATERAL (
                 SELECT c.tenant_id, c.day FROM public.cost_summaries c
                  WHERE c.tenant_id = wm.tenant_id AND c.day BETWEEN wm.a AND wm.b
                    AND c.dimension = 'total' AND c.key = '' AND NOT c.final OFFSET 0) s
         WHERE p_inday
        UNION ALL
        -- and their final days outside the window, to take off the month row
        SELECT u.tenant_id, u.month + b.b, true, -1
          FROM use u CROSS JOIN generate_series(0, 30) AS b (b)
         WHERE (u.outdays >> b.b) & 1 = 1)
SELECT dd.sg, s.tenant_id, s.day, s.final, s.dimension, s.key, s.cost_nusd,
       s.billed_nusd, s.input_tokens, s.output_tokens, s.cache_read_tokens,
       s.cache_write_5m_tokens, s.cache_write_1h_tokens, s.events, s.unpriced_events
  FROM dd CROSS JOIN LATERAL (
         SELECT c.* FROM public.cost_summaries c
          WHERE c.tenant_id = dd.tenant_id AND c.day = dd.day AND c.final = dd.final
            AND (p_dims IS NULL OR c.dimension = ANY (p_dims)) OFFSET 0) s
UNION ALL
SELECT 1, m.tenant_id, NULL::date, true, m.dimension, m.key, m.cost_nusd,
       m.billed_nusd, m.input_tokens, m.output_tokens, m.cache_read_tokens,
       m.cache_write_5m_tokens, m.cache_write_1h_tokens, m.events, m.unpriced_events
  FROM use u CROSS JOIN LATERAL (
         SELECT c.* FROM public.cost_months c
          WHERE c.tenant_id = u.tenant_id AND c.month = u.month
            AND (p_dims IS NULL OR c.dimension = ANY (p_dims)) OFFSET 0) m
$$;

-- fc_spend_open as 0021's, with the events the groups do not hold summed at the groups'
-- grain (rows that stand for `events` events, as the groups' rows do) instead of one row
-- each. Its readers group further and count sum(events), so their sums are unchanged;
-- they now read a few thousand rows whether the aggregator refreshed the groups a moment
-- ago or never (the report's open-days read: 75-89 ms with a GROUP BY of its own over
-- the 6,100 rows of the perf seed, 31-34 ms reading them as they come).
CREATE OR REPLACE FUNCTION fc_spend_open(p_tenants text[], p_lo date[], p_hi date[], p_inday boolean,
                              p_t0 timestamptz, p_t1 timestamptz)
RETURNS TABLE (tenant_id text, day date, agent_type text, model_family text, agent_id text,
               task_id text, cost_kind text, speed text, price_version int,
               price_tiered boolean, unpriced boolean, small boolean, reported boolean,
               events bigint, cost_nusd bigint, billed_nusd bigint, input_tokens bigint,
               output_tokens bigint, cache_read_tokens bigint, cache_write_5m_tokens bigint,
               cache_write_1h_tokens bigint, reported_cost_nusd bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_since timestamptz;
    v_arrival bigint;
    v_raw constant text := $r$
        SELECT e.tenant_id, e.day, e.agent_type, e.model_family, e.agent_id, e.task_id,
               e.cost_kind, fc_speed_key(e.event_type, e.speed), e.price_version,
               e.price_tiered, e.unpriced,
               fc_small_request(e.cost_kind, e.input_tokens, e.output_tokens,
                                e.cache_read_tokens, e.cache_write_5m_tokens,
                                e.cache_write_1h_tokens),
               e.reported_cost_nusd IS NOT NULL, count(*), sum(e.cost_nusd)::bigint,
               sum(e.billed_nusd)::bigint, sum(e.input_tokens)::bigint,
               sum(e.output_tokens)::bigint, sum(e.cache_read_tokens)::bigint,
               sum(e.cache_write_5m_tokens)::bigint, sum(e.cache_write_1h_tokens)::bigint,
               coalesce(sum(e.reported_cost_nusd), 0)::bigint
          FROM fc_spend_events($1, $2, $3, $4, %L, %L) e %s
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13$r$;
    v_sql text;
BEGIN
    IF p_t0 >= p_t1 THEN
        RETURN;
    END IF;
    SELECT m.since, m.arrival INTO v_since, v_arrival FROM fc_open_mark() m;
    IF v_since IS NULL THEN
        RETURN QUERY EXECUTE format(v_raw, p_t0, p_t1, '') USING p_tenants, p_lo, p_hi, p_inday;
        RETURN;
    END IF;
    v_sql := format($g$
        SELECT g.tenant_id, g.day, g.agent_type, g.model_family, g.agent_id, g.task_id,
               g.cost_kind, g.speed, g.price_version, g.price_tiered, g.unpriced, g.small,
               g.reported, g.events, g.cost_nusd, g.billed_nusd, g.input_tokens,
               g.output_tokens, g.cache_read_tokens, g.cache_write_5m_tokens,
               g.cache_write_1h_tokens, g.reported_cost_nusd
          FROM unnest($1, $2, $3) AS w (tenant_id, lo, hi)
          JOIN cost_open_groups g ON g.tenant_id = w.tenant_id
         WHERE g.day BETWEEN w.lo AND w.hi
           AND g.day >= (%1$L::timestamptz AT TIME ZONE 'UTC')::date - 1
           AND g.day <= (%2$L::timestamptz AT TIME ZONE 'UTC')::date + 1
           AND (g.tenant_id, g.day) NOT IN (
                 SELECT c.tenant_id, c.day FROM fc_spend_closed($1, $2, $3, $4) c
                  WHERE c.day >= (%1$L::timestamptz AT TIME ZONE 'UTC')::date - 1
                    AND c.day <= (%2$L::timestamptz AT TIME ZONE 'UTC')::date + 1)$g$,
        p_t0, p_t1);
    IF p_t0 < v_since THEN
        v_sql := v_sql || ' UNION ALL ' || format(v_raw, p_t0, least(p_t1, v_since), '');
    END IF;
    IF p_t1 > v_since THEN
        v_sql := v_sql || ' UNION ALL '
                 || format(v_raw, greatest(p_t0, v_since), p_t1,
                           format('WHERE e.arrival >= %s', v_arrival));
    END IF;
    RETURN QUERY EXECUTE v_sql USING p_tenants, p_lo, p_hi, p_inday;
END
$$;
