-- 0019_open_day_groups: open days read from exact in-day sums plus the events that
-- arrived since (issue #19; docs/SCALING.md "Open days").
--
-- Before this, every open tenant-day (today, a day the aggregator has not finalised) was
-- summed from its raw events by every report: about 160,000 events for today on the
-- benchmark seed, 1.4 s of a 30-day all-tenant report. Now:
--
--   cost_open_groups  the events of the open days summed at the grain the reports group
--                     them by (tenant, local day, agent type, model, agent, task, kind,
--                     speed key, price version and tier, unpriced, small request,
--                     reported cost or not), with every figure: list and billed cost,
--                     tokens, events, reported cost. It holds exactly the events that
--                     the mark in cost_open_state covers.
--   cost_open_state   the mark: since (the groups hold only events with event_time >=
--                     since) and, per ingest instance, the last seq and the run (epoch)
--                     the groups include. An event is covered when its ingest_id is in
--                     the mark with seq <= the mark's seq for it.
--   cost_open_stale   a row here means events or tenant zones changed after the groups
--                     were summed (reprice, rate restatement, any UPDATE / DELETE /
--                     TRUNCATE of events, a tenant's zone): readers ignore the groups
--                     until fc_open_refresh has summed them again.
--   fc_open_refresh   called by the aggregator every rollup round, in a REPEATABLE READ
--                     transaction begun after taking the session advisory lock
--                     fc_open_lock_key(): adds the events covered by the current
--                     ingest_state and not by the previous mark (incremental), or sums
--                     everything from since again (first time, once a day, after a
--                     stale row, a regression or a restart of an ingest instance).
--   fc_open_mark      the mark as a reader may use it: no row when the groups do not
--                     stand (never summed, stale, or ingest_state no longer agrees).
--   fc_spend_open     the open days of a window as weighted rows: the groups of its
--                     open tenant-days plus every event of those days not covered (one
--                     row each, events = 1). fc_period_spend and the reporter read it.
--
-- Why the mark is exact (the rule: every figure equals the sum of its events):
--  * ingest commits in seq order per ingest_id and writes ingest_state.last_seq in the
--    same transaction (0003, services/ingest/ingest_store.c "Seqs with several writers"),
--    so in one snapshot the visible events of an instance are exactly those with
--    seq <= last_seq, and no event with a seq at or below it commits later. The refresh
--    reads ingest_state and events in one REPEATABLE READ snapshot.
--  * events of an ingest_id without an ingest_state row or with epoch 0 (SQL fixtures,
--    senders from before runs) are never covered: readers sum them raw.
--  * a regression (PROTOCOL.md §11: ingest_state restored or reset, seqs reused) shows
--    as last_seq below the mark or a new epoch; readers then ignore the groups
--    (fc_open_mark) and the next refresh sums everything again. So does a plain restart
--    of an instance (a new epoch), which is rare.
--  * events never change after insert except through UPDATE (reprice, rate
--    restatements), DELETE or TRUNCATE; the statement triggers below record a stale row
--    in the same transaction. The triggers take the transaction advisory lock
--    fc_open_lock_key() and the refresh takes it (session-level) before its snapshot,
--    so a refresh either sees a change and its stale row, or finishes before the
--    change's transaction may commit. Retention drops whole old partitions (DETACH,
--    DROP), which never hold events at or after since.
--  * both sides split the events by the same instant predicate, event_time >= since and
--    covered: the groups hold those, readers read every other event of the open days
--    raw. Which local day an event belongs to matters only for grouping; a change of a
--    tenant's zone marks the groups stale.
-- Writes to events through a partition directly (not the events table) bypass the
-- statement triggers; nothing in fleetcost does that.

CREATE TABLE cost_open_state (
    one          boolean PRIMARY KEY DEFAULT true CONSTRAINT cost_open_state_one CHECK (one),
    since        timestamptz,              -- NULL: the groups do not stand
    ids          text[] NOT NULL DEFAULT '{}',
    seqs         bigint[] NOT NULL DEFAULT '{}',
    epochs       bigint[] NOT NULL DEFAULT '{}',
    refreshed_at timestamptz
);
INSERT INTO cost_open_state DEFAULT VALUES;

CREATE TABLE cost_open_stale (
    at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cost_open_groups (
    tenant_id             text NOT NULL,
    day                   date NOT NULL,    -- tenant-local, in the zone of the refresh
    agent_type            text,
    model_family          text,
    agent_id              text,
    task_id               text,
    cost_kind             text NOT NULL,
    speed                 text NOT NULL,    -- fc_speed_key
    price_version         int,
    price_tiered          boolean,
    unpriced              boolean NOT NULL,
    small                 boolean NOT NULL, -- fc_small_request
    reported              boolean NOT NULL, -- reported_cost_nusd IS NOT NULL
    events                bigint NOT NULL,
    cost_nusd             bigint NOT NULL,
    billed_nusd           bigint NOT NULL,
    input_tokens          bigint NOT NULL,
    output_tokens         bigint NOT NULL,
    cache_read_tokens     bigint NOT NULL,
    cache_write_5m_tokens bigint NOT NULL,
    cache_write_1h_tokens bigint NOT NULL,
    reported_cost_nusd    bigint NOT NULL   -- 0 when not reported
);
CREATE UNIQUE INDEX cost_open_groups_key ON cost_open_groups
    (tenant_id, day, agent_type, model_family, agent_id, task_id, cost_kind, speed,
     price_version, price_tiered, unpriced, small, reported) NULLS NOT DISTINCT;

ALTER TABLE cost_open_groups ENABLE ROW LEVEL SECURITY;
CREATE POLICY cost_open_groups_tenant_read ON cost_open_groups FOR SELECT TO fleetcost_reader
    USING (tenant_id = current_setting('fleetcost.tenant', true)
           OR current_setting('fleetcost.tenant', true) = '*');
-- The mark and ingest_state name ingest instances and seqs only, no tenant's data.
GRANT SELECT ON cost_open_groups, cost_open_state, cost_open_stale, ingest_state
    TO fleetcost_reader;

-- The speed key of an event as the rollups and reports key it (PROTOCOL.md §12): usage
-- without a speed is 'standard', cost events have none.
CREATE FUNCTION fc_speed_key(p_event_type text, p_speed text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN p_event_type = 'usage' THEN coalesce(p_speed, 'standard') ELSE '' END $$;

-- A small request (the reports' "small requests" figures): usage with at most 500
-- output tokens and 4,000 input tokens of every kind.
CREATE FUNCTION fc_small_request(p_kind text, p_in bigint, p_out bigint, p_cr bigint,
                                 p_w5 bigint, p_w1 bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT p_kind = 'usage' AND p_out <= 500 AND p_in + p_cr + p_w5 + p_w1 <= 4000 $$;

-- Whether an event (ingest_id, seq) is covered by a mark (ids, seqs).
CREATE FUNCTION fc_open_covered(p_ids text[], p_seqs bigint[], p_id text, p_seq bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(p_seq <= p_seqs[array_position(p_ids, p_id)], false) $$;

-- The advisory lock key the refresh and the triggers share.
CREATE FUNCTION fc_open_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 190019::bigint $$;

CREATE FUNCTION fc_open_mark()
RETURNS TABLE (since timestamptz, ids text[], seqs bigint[])
LANGUAGE sql STABLE
AS $$
SELECT s.since, s.ids, s.seqs FROM public.cost_open_state s
 WHERE s.since IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM public.cost_open_stale)
   AND NOT EXISTS (SELECT 1 FROM unnest(s.ids, s.seqs, s.epochs) AS m (id, seq, ep)
                     LEFT JOIN public.ingest_state i ON i.ingest_id = m.id
                    WHERE i.ingest_id IS NULL OR i.epoch <> m.ep OR i.last_seq < m.seq)
$$;

CREATE FUNCTION fc_open_invalidate() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(fc_open_lock_key());
    INSERT INTO cost_open_stale DEFAULT VALUES;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_open_stale AFTER UPDATE OR DELETE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION fc_open_invalidate();
CREATE TRIGGER events_open_stale_truncate AFTER TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION fc_open_invalidate();
-- A tenant's zone decides its events' local days; a tenant without a row is 'UTC'.
CREATE TRIGGER tenants_open_stale_insert AFTER INSERT ON tenants
    FOR EACH ROW WHEN (NEW.tz <> 'UTC') EXECUTE FUNCTION fc_open_invalidate();
CREATE TRIGGER tenants_open_stale_update AFTER UPDATE OF tz ON tenants
    FOR EACH ROW WHEN (OLD.tz IS DISTINCT FROM NEW.tz) EXECUTE FUNCTION fc_open_invalidate();
CREATE TRIGGER tenants_open_stale_delete AFTER DELETE ON tenants
    FOR EACH ROW WHEN (OLD.tz <> 'UTC') EXECUTE FUNCTION fc_open_invalidate();

-- Brings the groups up to the current ingest_state (see the header). The caller holds
-- the session advisory lock fc_open_lock_key() and runs this as the first statement of a
-- REPEATABLE READ transaction. Returns the number of events added.
CREATE FUNCTION fc_open_refresh(p_now timestamptz DEFAULT now()) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    st cost_open_state;
    v_since timestamptz := (date_trunc('day', p_now AT TIME ZONE 'UTC') - interval '2 days')
                           AT TIME ZONE 'UTC';
    v_ids text[];
    v_seqs bigint[];
    v_eps bigint[];
    v_full boolean;
    v_lo bigint;
    v_n bigint;
BEGIN
    IF current_setting('transaction_isolation') <> 'repeatable read' THEN
        RAISE EXCEPTION 'fc_open_refresh runs in a REPEATABLE READ transaction';
    END IF;
    SELECT * INTO STRICT st FROM cost_open_state FOR UPDATE;
    SELECT coalesce(array_agg(ingest_id ORDER BY ingest_id), '{}'),
           coalesce(array_agg(last_seq ORDER BY ingest_id), '{}'),
           coalesce(array_agg(epoch ORDER BY ingest_id), '{}')
      INTO v_ids, v_seqs, v_eps
      FROM ingest_state WHERE epoch <> 0;
    -- Everything again: never summed, stale, since a day too old (or ahead of p_now), or
    -- an instance of the mark gone, restarted or gone back.
    v_full := st.since IS NULL OR st.since < v_since - interval '1 day' OR st.since > v_since
              OR EXISTS (SELECT 1 FROM cost_open_stale)
              OR EXISTS (SELECT 1 FROM unnest(st.ids, st.seqs, st.epochs) AS o (id, seq, ep)
                           LEFT JOIN unnest(v_ids, v_seqs, v_eps) AS c (id, seq, ep)
                                  ON c.id = o.id
                          WHERE c.id IS NULL OR c.ep <> o.ep OR c.seq < o.seq);
    IF v_full THEN
        DELETE FROM cost_open_groups;
        DELETE FROM cost_open_stale;
        st.since := v_since;
        st.ids := '{}';
        st.seqs := '{}';
    END IF;
    -- The lowest seq that can be new, for the BRIN index on seq: only when every
    -- instance of the mark was in the previous one.
    SELECT CASE WHEN bool_and(o.seq IS NOT NULL) THEN min(o.seq) END INTO v_lo
      FROM unnest(v_ids) AS c (id)
      LEFT JOIN unnest(st.ids, st.seqs) AS o (id, seq) ON o.id = c.id;
    EXECUTE format($q$
        WITH d AS (
        SELECT x.tenant_id, x.day, x.agent_type, x.model_family, x.agent_id, x.task_id,
               x.cost_kind, x.speed, x.price_version, x.price_tiered, x.unpriced, x.small,
               x.reported, count(*), sum(x.cost_nusd), sum(x.billed_nusd),
               sum(x.input_tokens), sum(x.output_tokens), sum(x.cache_read_tokens),
               sum(x.cache_write_5m_tokens), sum(x.cache_write_1h_tokens),
               coalesce(sum(x.reported_cost_nusd), 0)
          FROM (SELECT e.tenant_id,
                       fc_local_day(e.event_time, coalesce(t.tz, 'UTC')) AS day,
                       e.agent_type, e.model_family, e.agent_id, e.task_id, e.cost_kind,
                       fc_speed_key(e.event_type, e.speed) AS speed, e.price_version,
                       e.price_tiered, e.unpriced,
                       fc_small_request(e.cost_kind, e.input_tokens, e.output_tokens,
                                        e.cache_read_tokens, e.cache_write_5m_tokens,
                                        e.cache_write_1h_tokens) AS small,
                       e.reported_cost_nusd IS NOT NULL AS reported, e.cost_nusd,
                       coalesce(e.billed_nusd, e.cost_nusd) AS billed_nusd,
                       e.input_tokens, e.output_tokens, e.cache_read_tokens,
                       e.cache_write_5m_tokens, e.cache_write_1h_tokens,
                       e.reported_cost_nusd
                  FROM events e LEFT JOIN tenants t ON t.tenant_id = e.tenant_id
                 WHERE e.cost_kind IS NOT NULL AND e.event_time >= %L
                   AND (%L::bigint IS NULL OR e.seq > %L::bigint)
                   AND fc_open_covered($1, $2, e.ingest_id, e.seq)
                   AND NOT fc_open_covered($3, $4, e.ingest_id, e.seq)) x
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13),
        ins AS (
        INSERT INTO cost_open_groups AS g SELECT * FROM d
        ON CONFLICT (tenant_id, day, agent_type, model_family, agent_id, task_id, cost_kind,
                     speed, price_version, price_tiered, unpriced, small, reported)
        DO UPDATE SET events = g.events + EXCLUDED.events,
                      cost_nusd = g.cost_nusd + EXCLUDED.cost_nusd,
                      billed_nusd = g.billed_nusd + EXCLUDED.billed_nusd,
                      input_tokens = g.input_tokens + EXCLUDED.input_tokens,
                      output_tokens = g.output_tokens + EXCLUDED.output_tokens,
                      cache_read_tokens = g.cache_read_tokens + EXCLUDED.cache_read_tokens,
                      cache_write_5m_tokens = g.cache_write_5m_tokens
                                              + EXCLUDED.cache_write_5m_tokens,
                      cache_write_1h_tokens = g.cache_write_1h_tokens
                                              + EXCLUDED.cache_write_1h_tokens,
                      reported_cost_nusd = g.reported_cost_nusd + EXCLUDED.reported_cost_nusd
        RETURNING 1)
        SELECT coalesce(sum(d.count), 0) FROM d$q$, st.since, v_lo, v_lo)
      INTO v_n USING v_ids, v_seqs, st.ids, st.seqs;
    UPDATE cost_open_state
       SET since = st.since, ids = v_ids, seqs = v_seqs, epochs = v_eps, refreshed_at = p_now;
    RETURN v_n;
END
$$;

-- 0018's fc_window_events and fc_spend_events with each event's ingest_id and seq added
-- (the same columns first, so callers that name their columns are unchanged), and
-- fc_spend_events with p_open: when true, the events the groups cover are left out
-- (fc_spend_open reads those from the groups). The coverage test is on the events' own
-- columns, so the planner applies it in the scan, before the local day is computed.
DROP FUNCTION fc_spend_events(text[], date[], date[], boolean, timestamptz, timestamptz);
DROP FUNCTION fc_window_events(text[], date[], date[], timestamptz, timestamptz);
CREATE FUNCTION fc_window_events(p_tenants text[], p_lo date[], p_hi date[],
                                 p_t0 timestamptz, p_t1 timestamptz)
RETURNS TABLE (tenant_id text, day date, event_time timestamptz, event_type text,
               agent_id text, agent_type text, task_id text, model_family text,
               cost_kind text, cost_nusd bigint, billed_nusd bigint, input_tokens bigint,
               output_tokens bigint, cache_read_tokens bigint, cache_write_5m_tokens bigint,
               cache_write_1h_tokens bigint, unpriced boolean, reported_cost_nusd bigint,
               price_version int, price_tiered boolean, speed text, ingest_id text,
               seq bigint)
LANGUAGE sql STABLE
AS $$
SELECT x.tenant_id, x.day, x.event_time, x.event_type, x.agent_id, x.agent_type, x.task_id,
       x.model_family, x.cost_kind, x.cost_nusd, x.billed_nusd, x.input_tokens,
       x.output_tokens, x.cache_read_tokens, x.cache_write_5m_tokens,
       x.cache_write_1h_tokens, x.unpriced, x.reported_cost_nusd, x.price_version,
       x.price_tiered, x.speed, x.ingest_id, x.seq
  FROM (WITH w AS MATERIALIZED (SELECT * FROM public.fc_spend_windows(p_tenants, p_lo, p_hi))
        SELECT e.tenant_id, public.fc_local_day(e.event_time, w.tz) AS day, w.lo, w.hi,
               e.event_time, e.event_type, e.agent_id, e.agent_type, e.task_id,
               e.model_family, e.cost_kind, e.cost_nusd,
               coalesce(e.billed_nusd, e.cost_nusd) AS billed_nusd,
               e.input_tokens, e.output_tokens, e.cache_read_tokens,
               e.cache_write_5m_tokens, e.cache_write_1h_tokens, e.unpriced,
               e.reported_cost_nusd, e.price_version, e.price_tiered, e.speed, e.ingest_id,
               e.seq
          FROM public.events e JOIN w ON w.tenant_id = e.tenant_id
         WHERE e.cost_kind IS NOT NULL AND e.event_time >= p_t0 AND e.event_time < p_t1) x
 WHERE x.day BETWEEN x.lo AND x.hi
$$;

CREATE FUNCTION fc_spend_events(p_tenants text[], p_lo date[], p_hi date[], p_inday boolean,
                                p_t0 timestamptz, p_t1 timestamptz,
                                p_open boolean DEFAULT false)
RETURNS TABLE (tenant_id text, day date, event_time timestamptz, event_type text,
               agent_id text, agent_type text, task_id text, model_family text,
               cost_kind text, cost_nusd bigint, billed_nusd bigint, input_tokens bigint,
               output_tokens bigint, cache_read_tokens bigint, cache_write_5m_tokens bigint,
               cache_write_1h_tokens bigint, unpriced boolean, reported_cost_nusd bigint,
               price_version int, price_tiered boolean, speed text, ingest_id text,
               seq bigint)
LANGUAGE sql STABLE
AS $$
SELECT x.* FROM public.fc_window_events(p_tenants, p_lo, p_hi, p_t0, p_t1) x
 WHERE (x.tenant_id, x.day) NOT IN (
         SELECT c.tenant_id, c.day FROM public.fc_spend_closed(p_tenants, p_lo, p_hi, p_inday) c
          WHERE c.day >= (p_t0 AT TIME ZONE 'UTC')::date - 1
            AND c.day <= (p_t1 AT TIME ZONE 'UTC')::date + 1)
   AND NOT (p_open
            AND x.event_time >= coalesce((SELECT m.since FROM public.fc_open_mark() m),
                                         'infinity')
            AND public.fc_open_covered((SELECT m.ids FROM public.fc_open_mark() m),
                                       (SELECT m.seqs FROM public.fc_open_mark() m),
                                       x.ingest_id, x.seq))
$$;

-- The open days of a window as weighted rows (events: how many events a row stands
-- for): the groups of the window's open tenant-days and every event of those days the
-- groups do not cover, one row each. The same bounds as fc_spend_events (the open days
-- lie within [p_t0, p_t1), so their local dates within a day of its UTC dates). Sums
-- over it equal sums over fc_spend_events: summing the rows' figures and their events.
CREATE FUNCTION fc_spend_open(p_tenants text[], p_lo date[], p_hi date[], p_inday boolean,
                              p_t0 timestamptz, p_t1 timestamptz)
RETURNS TABLE (tenant_id text, day date, agent_type text, model_family text, agent_id text,
               task_id text, cost_kind text, speed text, price_version int,
               price_tiered boolean, unpriced boolean, small boolean, reported boolean,
               events bigint, cost_nusd bigint, billed_nusd bigint, input_tokens bigint,
               output_tokens bigint, cache_read_tokens bigint, cache_write_5m_tokens bigint,
               cache_write_1h_tokens bigint, reported_cost_nusd bigint)
LANGUAGE sql STABLE
AS $$
SELECT g.tenant_id, g.day, g.agent_type, g.model_family, g.agent_id, g.task_id, g.cost_kind,
       g.speed, g.price_version, g.price_tiered, g.unpriced, g.small, g.reported, g.events,
       g.cost_nusd, g.billed_nusd, g.input_tokens, g.output_tokens, g.cache_read_tokens,
       g.cache_write_5m_tokens, g.cache_write_1h_tokens, g.reported_cost_nusd
  FROM public.fc_open_mark() m
  CROSS JOIN unnest(p_tenants, p_lo, p_hi) AS w (tenant_id, lo, hi)
  JOIN public.cost_open_groups g ON g.tenant_id = w.tenant_id
 WHERE p_t0 < p_t1 AND g.day BETWEEN w.lo AND w.hi
   AND g.day >= (p_t0 AT TIME ZONE 'UTC')::date - 1
   AND g.day <= (p_t1 AT TIME ZONE 'UTC')::date + 1
   AND (g.tenant_id, g.day) NOT IN (
         SELECT c.tenant_id, c.day FROM public.fc_spend_closed(p_tenants, p_lo, p_hi, p_inday) c
          WHERE c.day >= (p_t0 AT TIME ZONE 'UTC')::date - 1
            AND c.day <= (p_t1 AT TIME ZONE 'UTC')::date + 1)
UNION ALL
SELECT e.tenant_id, e.day, e.agent_type, e.model_family, e.agent_id, e.task_id, e.cost_kind,
       public.fc_speed_key(e.event_type, e.speed), e.price_version, e.price_tiered,
       e.unpriced,
       public.fc_small_request(e.cost_kind, e.input_tokens, e.output_tokens,
                               e.cache_read_tokens, e.cache_write_5m_tokens,
                               e.cache_write_1h_tokens),
       e.reported_cost_nusd IS NOT NULL, 1, e.cost_nusd, e.billed_nusd, e.input_tokens,
       e.output_tokens, e.cache_read_tokens, e.cache_write_5m_tokens,
       e.cache_write_1h_tokens, coalesce(e.reported_cost_nusd, 0)
  FROM public.fc_spend_events(p_tenants, p_lo, p_hi, p_inday, p_t0, p_t1, true) e
$$;

-- 0017's, with the open days from fc_spend_open (same columns).
CREATE OR REPLACE FUNCTION fc_period_spend(p_tenants text[], p_lo date[], p_hi date[],
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
               sum(e.events)::bigint,
               coalesce(sum(e.events) FILTER (WHERE e.unpriced), 0)::bigint
          FROM public.fc_spend_open($1, $2, $3, $4, %L, %L) e
         GROUP BY 1, 2$q$, coalesce(v_t0, 'epoch'), coalesce(v_t1, 'epoch'))
    USING p_tenants, p_lo, p_hi, p_inday;
END
$$;
