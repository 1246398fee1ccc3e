-- 0005_alerter: what the alerter and `fleetcost budget check` need.
--
-- 1. Delivery bookkeeping on cost_alerts. The table is the alerter's delivery queue: a
--    row whose delivery_status is 'pending' or 'retry' (or 'sending' whose lease ran
--    out: the sender died) and whose delivery_next_at has passed is due. A sender claims
--    due rows with FOR UPDATE SKIP LOCKED, so replicas never send the same notice twice
--    at once, and a restart resumes what was in flight. delivery_done lists the
--    destinations that already took the current notice, so a retry goes only to those
--    that failed. delivery_status: pending | sending | retry | delivered | failed | none
--    (no destination configured).
ALTER TABLE cost_alerts
    ADD COLUMN delivery_next_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN delivery_done    text[] NOT NULL DEFAULT '{}',
    ADD COLUMN delivered_at     timestamptz;

CREATE INDEX cost_alerts_due ON cost_alerts (delivery_next_at)
    WHERE delivery_status IN ('pending', 'retry', 'sending');
-- `fleetcost alerts --since` and the alerter's look-up of open alerts.
CREATE INDEX cost_alerts_open ON cost_alerts (tenant_id, state) WHERE state = 'fired';

-- Spend of a tenant in its own time zone as of p_now: today's and this month's totals
-- (nano-USD) with the local day and month they belong to. One definition serves the
-- alerter's periodic re-evaluation and `fleetcost budget check`, so the gate and the
-- alerts never disagree.
--
-- Days of the month before the first day without a final rollup come from
-- cost_summaries (the aggregator's closed days, exact and cheap); the rest from raw
-- events, whose day partitions and BRIN index on event_time bound the scan. Events are
-- counted up to the end of the local day of p_now (not p_now itself), so a host clock a
-- little ahead of ours does not hide spend. A tenant without a tenants row counts in UTC.
CREATE FUNCTION fc_tenant_spend(p_tenant text, p_now timestamptz)
RETURNS TABLE (tz text, day date, month text, day_nusd bigint, month_nusd bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_tz         text;
    v_today      date;
    v_m0         date;
    v_open       date;
    v_final      bigint;
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
    SELECT coalesce(sum(s.cost_nusd), 0) INTO v_final
      FROM public.cost_summaries s
     WHERE s.tenant_id = p_tenant AND s.dimension = 'total' AND s.key = '' AND s.final
       AND s.day >= v_m0 AND s.day < v_open;
    v_day_start := v_today::timestamp AT TIME ZONE v_tz;
    v_day_end := (v_today + 1)::timestamp AT TIME ZONE v_tz;
    v_open_start := v_open::timestamp AT TIME ZONE v_tz;
    RETURN QUERY
    SELECT v_tz, v_today, to_char(v_today, 'YYYY-MM'),
           coalesce(sum(e.cost_nusd) FILTER (WHERE e.event_time >= v_day_start), 0)::bigint,
           (v_final + coalesce(sum(e.cost_nusd), 0))::bigint
      FROM public.events e
     WHERE e.tenant_id = p_tenant AND e.event_time >= v_open_start AND e.event_time < v_day_end;
END
$$;
