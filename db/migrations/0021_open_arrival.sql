-- 0021_open_arrival: the open days' groups (0019) marked by an arrival number that an
-- index finds, instead of per-ingest seqs that only a scan can test (issue #19;
-- docs/SCALING.md "Open days").
--
-- Before this, the mark of "which events the groups hold" was a list of (ingest_id, seq,
-- epoch) from ingest_state, so a reader had to scan every event of the open days'
-- partitions to find the ones it did not cover (120,000 rows, 216-284 ms on the benchmark
-- seed; docs/BENCHMARKS.md "Open days from groups"). Now:
--
--   events.arrival     the number of the statement that inserted the row: every INSERT
--                      or COPY into events takes one value of the sequence
--                      events_arrival in a BEFORE ... FOR EACH STATEMENT trigger, after
--                      taking the transaction-level SHARED advisory lock
--                      fc_open_lock_key(), and every row of the statement gets it as its
--                      default. BRIN-indexed: rows are appended in arrival order, so the
--                      rows since a mark sit in the last pages of each partition.
--   cost_open_state    since and arrival (X): the groups hold exactly the events with
--                      event_time >= since and (arrival < X or arrival IS NULL: rows
--                      stored before this migration, all summed by the first refresh).
--   fc_open_refresh    in READ COMMITTED (refused otherwise): takes the EXCLUSIVE
--                      lock fc_open_lock_key() with a bounded wait (p_wait, 2 s; no
--                      grant in time: returns NULL and changes nothing), takes X =
--                      nextval('events_arrival'), releases the lock (a subtransaction
--                      rolled back); then sums, in later
--                      statements (fresh snapshots), the events with arrival in
--                      [X_old, X) (incremental, through the BRIN index) or everything
--                      from since (full).
--   fc_spend_open      the groups of the open tenant-days plus the events of those days
--                      with arrival >= X (BRIN: the pages appended since the refresh,
--                      late events with an old event_time included) or event_time < since.
--
-- Why the mark is exact. A row with arrival v < X got v from a statement that held the
-- shared lock when it took v (the trigger takes the lock first, then nextval). The
-- sequence hands out values in the order they are asked for (CACHE 1: PostgreSQL 15,
-- CREATE SEQUENCE: "cache ... The minimum value is 1 (only one value can be generated at
-- a time, i.e., no cache), and this is also the default"; with a cache, sessions would
-- preallocate ranges and the order would break). The refresh asked for X while holding
-- the lock exclusively, so that statement's transaction acquired the shared lock before
-- the refresh's was granted, and, holding it to its end (transaction-level locks are
-- released at commit or abort; a lock taken after a savepoint is released when the
-- savepoint is rolled back to, and then so are the rows: 13.3 "Explicit Locking"), it
-- had ended before the grant. Any snapshot taken after the grant therefore sees every
-- committed row with arrival < X. The refresh's summing statements take their snapshots
-- after it: a VOLATILE function "obtains a fresh snapshot at the start of each query"
-- in READ COMMITTED (38.7 "Function Volatility Categories"); in REPEATABLE READ the
-- snapshot would be the transaction's first, possibly taken before the grant, hence the
-- refusal. Rows with arrival >= X are excluded from the groups by the predicate, and
-- readers read exactly those. No clock is involved: a wall clock stepping back (NTP,
-- a VM resumed) would have broken the same scheme built on clock_timestamp() and
-- received_at, silently losing the rows inserted during the step.
--
-- "Statement-level BEFORE triggers naturally fire before the statement starts to do
-- anything" (39.1 "Overview of Trigger Behavior"), and COPY FROM "will invoke any
-- triggers" of the table (COPY), so every row's default is computed after its
-- statement's trigger. The default reads the value the trigger set with set_config(...,
-- true) (transaction-local), so a write that does not pass through the trigger (into a
-- partition directly) has none and fails. The one rule left: no writer sets arrival
-- itself (nothing in fleetcost does; db/README.md documents it beside the partitions).
--
-- The regression and epoch conditions of 0019's mark are gone: the mark no longer
-- depends on ingest_state, and events of every writer (ingest, fixtures,
-- fleetcost-bench) are covered alike. Changes of events (UPDATE, DELETE, TRUNCATE) and
-- of a tenant's zone still record a stale row in their own transaction (0019's
-- triggers), but no longer take the advisory lock: the refresh deletes only the stale
-- rows its DELETE sees, and sums in a later statement whose snapshot sees their changes
-- too; a stale row it did not see stays and makes readers ignore the groups until the
-- next refresh sums everything again. Taking the exclusive lock there would now stop
-- ingest for as long as a reprice runs.
--
-- A refresh waiting for the lock makes new inserting statements queue behind it (the
-- lock manager grants in order), for at most p_wait; once granted it holds the lock for
-- one nextval.

CREATE SEQUENCE events_arrival AS bigint CACHE 1 NO CYCLE;

ALTER TABLE events ADD COLUMN arrival bigint;
-- Separate from ADD COLUMN, so that the rows already stored keep NULL.
ALTER TABLE events ALTER COLUMN arrival SET DEFAULT current_setting('fleetcost.arrival')::bigint;
CREATE INDEX events_arrival_brin ON events USING brin (arrival) WITH (autosummarize = on);

CREATE FUNCTION fc_events_arrival() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    -- No SET clause on this function: it would confine the set_config below to it.
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(public.fc_open_lock_key());
    PERFORM pg_catalog.set_config('fleetcost.arrival',
                                  pg_catalog.nextval('public.events_arrival')::text, true);
    RETURN NULL;
END
$$;
CREATE TRIGGER events_arrival BEFORE INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION fc_events_arrival();

CREATE OR REPLACE FUNCTION fc_open_invalidate() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    INSERT INTO cost_open_stale DEFAULT VALUES;
    RETURN NULL;
END
$$;

-- The groups start again from nothing: the first refresh sums everything.
DELETE FROM cost_open_groups;
ALTER TABLE cost_open_state DROP COLUMN ids, DROP COLUMN seqs, DROP COLUMN epochs,
    ADD COLUMN arrival bigint;
UPDATE cost_open_state SET since = NULL, arrival = NULL;
DROP FUNCTION fc_open_covered(text[], bigint[], text, bigint);

DROP FUNCTION fc_open_mark();
CREATE FUNCTION fc_open_mark()
RETURNS TABLE (since timestamptz, arrival bigint)
LANGUAGE sql STABLE
AS $$
SELECT s.since, s.arrival FROM public.cost_open_state s
 WHERE s.since IS NOT NULL AND s.arrival IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM public.cost_open_stale)
$$;

-- Brings the groups up to now (see the header). Call it on its own, in READ COMMITTED
-- (autocommit). Returns the number of events added, or NULL when the lock was not
-- granted within p_wait (nothing changed; the next call catches up).
DROP FUNCTION fc_open_refresh(timestamptz);
CREATE FUNCTION fc_open_refresh(p_now timestamptz DEFAULT now(),
                                p_wait interval DEFAULT '2 s') RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
    st cost_open_state;
    v_since timestamptz := (date_trunc('day', p_now AT TIME ZONE 'UTC') - interval '2 days')
                           AT TIME ZONE 'UTC';
    v_x bigint;
    v_full boolean;
    v_n bigint;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'fc_open_refresh runs in READ COMMITTED';
    END IF;
    -- The exclusive lock, X under it, and the lock let go by rolling back the
    -- subtransaction that took it (13.3: a lock taken after a savepoint is released when
    -- the savepoint is rolled back): a transaction-level lock, so no error or cancel can
    -- leave it held past this transaction, and not held while the sums run. nextval is
    -- not rolled back, nor is a PL/pgSQL variable; lock_timeout is.
    BEGIN
        PERFORM set_config('lock_timeout',
                           greatest(1, extract(epoch FROM p_wait) * 1000)::bigint::text, true);
        PERFORM pg_advisory_xact_lock(fc_open_lock_key());
        v_x := nextval('events_arrival');
        RAISE SQLSTATE 'FC001';
    EXCEPTION
        WHEN lock_not_available THEN
            RETURN NULL;
        WHEN SQLSTATE 'FC001' THEN
            NULL;
    END;

    -- Several refreshes take turns here (the row lock; READ COMMITTED reads the row as
    -- the one before left it). One with an older X than the mark has nothing to add.
    SELECT * INTO STRICT st FROM cost_open_state FOR UPDATE;
    v_full := st.since IS NULL OR st.arrival IS NULL OR st.since < v_since - interval '1 day'
              OR st.since > v_since OR EXISTS (SELECT 1 FROM cost_open_stale);
    IF NOT v_full AND v_x <= st.arrival THEN
        RETURN 0;
    END IF;
    IF v_full THEN
        DELETE FROM cost_open_groups;
        DELETE FROM cost_open_stale;
        st.since := v_since;
    END IF;
    -- Constants, not parameters: the planner prunes the partitions before since, and the
    -- incremental range goes to the BRIN index.
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
                   AND %s) x
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
        SELECT coalesce(sum(d.count), 0) FROM d$q$,
        st.since,
        CASE WHEN v_full THEN format('(e.arrival IS NULL OR e.arrival < %s)', v_x)
             ELSE format('e.arrival >= %s AND e.arrival < %s', st.arrival, v_x) END)
      INTO v_n;
    UPDATE cost_open_state SET since = st.since, arrival = v_x, refreshed_at = p_now;
    RETURN v_n;
END
$$;

-- 0019's fc_window_events and fc_spend_events with each event's arrival added (the same
-- columns first, so callers that name their columns are unchanged); fc_spend_events'
-- p_open leaves out the events the groups hold, by the new mark.
DROP FUNCTION fc_spend_events(text[], date[], date[], boolean, timestamptz, timestamptz, boolean);
DROP FUNCTION fc_window_events(text[], date[], date[], timestamptz, timestamptz);
CREATE FUNCTION fc_window_events(p_tenants text[], p_lo date[], p_hi date[],
                                 p_t0 timestamptz, p_t1 timestamptz)
RETURNS TABLE (tenant_id text, day date, event_time timestamptz, event_type text,
               agent_id text, agent_type text, task_id text, model_family text,
               cost_kind text, cost_nusd bigint, billed_nusd bigint, input_tokens bigint,
               output_tokens bigint, cache_read_tokens bigint, cache_write_5m_tokens bigint,
               cache_write_1h_tokens bigint, unpriced boolean, reported_cost_nusd bigint,
               price_version int, price_tiered boolean, speed text, ingest_id text,
               seq bigint, arrival bigint)
LANGUAGE sql STABLE
AS $$
SELECT x.tenant_id, x.day, x.event_time, x.event_type, x.agent_id, x.agent_type, x.task_id,
       x.model_family, x.cost_kind, x.cost_nusd, x.billed_nusd, x.input_tokens,
       x.output_tokens, x.cache_read_tokens, x.cache_write_5m_tokens,
       x.cache_write_1h_tokens, x.unpriced, x.reported_cost_nusd, x.price_version,
       x.price_tiered, x.speed, x.ingest_id, x.seq, x.arrival
  FROM (WITH w AS MATERIALIZED (SELECT * FROM public.fc_spend_windows(p_tenants, p_lo, p_hi))
        SELECT e.tenant_id, public.fc_local_day(e.event_time, w.tz) AS day, w.lo, w.hi,
               e.event_time, e.event_type, e.agent_id, e.agent_type, e.task_id,
               e.model_family, e.cost_kind, e.cost_nusd,
               coalesce(e.billed_nusd, e.cost_nusd) AS billed_nusd,
               e.input_tokens, e.output_tokens, e.cache_read_tokens,
               e.cache_write_5m_tokens, e.cache_write_1h_tokens, e.unpriced,
               e.reported_cost_nusd, e.price_version, e.price_tiered, e.speed, e.ingest_id,
               e.seq, e.arrival
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
               seq bigint, arrival bigint)
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
            AND (x.arrival IS NULL
                 OR x.arrival < (SELECT m.arrival FROM public.fc_open_mark() m)))
$$;

-- The open days of a window as weighted rows (events: how many events a row stands
-- for): the groups of the window's open tenant-days, and the events of those days the
-- groups do not hold, one row each: those with event_time before the mark's since (the
-- aggregator behind), and those since with arrival >= the mark's (the BRIN index finds
-- them). plpgsql, to put the mark into the query as constants (partitions pruned,
-- arrival a BRIN index condition). Sums over it equal sums over fc_spend_events.
DROP FUNCTION fc_spend_open(text[], date[], date[], boolean, timestamptz, timestamptz);
CREATE FUNCTION fc_spend_open(p_tenants text[], p_lo date[], p_hi date[], p_inday boolean,
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
               e.reported_cost_nusd IS NOT NULL, 1::bigint, e.cost_nusd, e.billed_nusd,
               e.input_tokens, e.output_tokens, e.cache_read_tokens,
               e.cache_write_5m_tokens, e.cache_write_1h_tokens,
               coalesce(e.reported_cost_nusd, 0)
          FROM fc_spend_events($1, $2, $3, $4, %L, %L) e$r$;
    v_sql text;
BEGIN
    IF p_t0 >= p_t1 THEN
        RETURN;
    END IF;
    SELECT m.since, m.arrival INTO v_since, v_arrival FROM fc_open_mark() m;
    IF v_since IS NULL THEN
        RETURN QUERY EXECUTE format(v_raw, p_t0, p_t1) USING p_tenants, p_lo, p_hi, p_inday;
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
        v_sql := v_sql || ' UNION ALL ' || format(v_raw, p_t0, least(p_t1, v_since));
    END IF;
    IF p_t1 > v_since THEN
        v_sql := v_sql || ' UNION ALL '
                 || format(v_raw, greatest(p_t0, v_since), p_t1)
                 || format(' WHERE e.arrival >= %s', v_arrival);
    END IF;
    RETURN QUERY EXECUTE v_sql USING p_tenants, p_lo, p_hi, p_inday;
END
$$;
