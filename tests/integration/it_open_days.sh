#!/usr/bin/env bash
# it_open_days: the open days' exact groups (migrations 0019 and 0021, issue #19) never
# change a figure. After every step below, per tenant-day, every figure of fc_spend_open
# (groups plus the events they do not hold) equals the raw events' (fc_spend_events), to
# the nano-dollar and the event; fc_period_spend equals the raw sums; and the all-tenant
# `fleetcost report` is byte-identical to the one read with no groups at all:
#  - before any refresh (no groups: all raw);
#  - after a full refresh (every writer's events, with or without ingest_state);
#  - with events committed since (raw until the next refresh), then an incremental
#    refresh that adds exactly those; late events with an old event_time likewise;
#  - with a transaction that inserted before a refresh and commits while the refresh
#    waits for the insert lock (counted by that refresh, once), one that holds the lock
#    past the refresh's wait (the refresh skips, changes nothing), and one that began
#    before a refresh and inserts after it (raw, then added by the next);
#  - after an UPDATE of events (a reprice): the groups stop counting at once, and the
#    next refresh sums everything again; after a tenant's zone changes: likewise;
#  - a restart or regression of an ingest instance no longer matters to the mark.
# A write into a partition directly (past the insert trigger) is refused.
#   it_open_days.sh <fleetcost>
fleetcost=${1:?usage: it_open_days.sh <fleetcost>}
. "$(dirname "$0")/lib.sh"
it_setup open_days
"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"

# "Now" is 2026-03-10 03:30 UTC; the groups hold events from 2026-03-08 00:00 UTC.
NOW='2026-03-10 03:30:00+00'
q "$IT_URL" - >/dev/null <<'SQL' || it_die "seeding failed"
INSERT INTO tenants (tenant_id, tz) VALUES ('a', 'Asia/Tokyo'), ('b', 'America/New_York'),
                                           ('c', 'UTC');
SELECT fc_ensure_event_partitions('2026-03-01', '2026-03-12');
INSERT INTO ingest_state (ingest_id, last_seq, epoch) VALUES ('i1', 600, 7), ('i0', 50, 0);
-- 600 events of ingest i1 every 17 minutes back from now (about 7 days), every kind of
-- key and NULL, billed and reported on some; a tenant without a tenants row ('d'); one
-- in ten from a fixture ingest_id without ingest_state, and some from an instance of
-- epoch 0: all counted alike since 0021.
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type, task_id,
                    model_family, input_tokens, output_tokens, cache_read_tokens,
                    cache_write_5m_tokens, cost_nusd, billed_nusd, cost_kind,
                    reported_cost_nusd, unpriced, speed, price_version, price_tiered,
                    ingest_id, seq)
SELECT gen_random_uuid(), timestamptz '2026-03-10 03:29+00' - i * interval '17 minutes',
       (ARRAY['a', 'b', 'c', 'd'])[1 + i % 4], CASE WHEN i % 7 = 0 THEN 'cost' ELSE 'usage' END,
       'ag' || i % 4, 'ty' || i % 2, CASE WHEN i % 5 = 0 THEN NULL ELSE 'tk' || i % 6 END,
       CASE WHEN i % 11 = 0 THEN NULL ELSE 'm' || i % 3 END, 37 * i, i % 900, 10 * i, i % 3,
       1000003 * i + 7, CASE WHEN i % 2 = 0 THEN 999 * i END,
       CASE WHEN i % 7 = 0 THEN 'runtime' ELSE 'usage' END, CASE WHEN i % 4 = 0 THEN 5 * i END,
       i % 13 = 0, CASE WHEN i % 3 = 0 THEN 'fast' END, NULL, CASE WHEN i % 6 = 0 THEN true END,
       CASE WHEN i % 10 = 0 THEN 'fixture' WHEN i % 10 = 5 THEN 'i0' ELSE 'i1' END, i
  FROM generate_series(1, 600) i;
-- Lifecycle events carry no cost and count for nothing.
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, ingest_id, seq)
SELECT gen_random_uuid(), timestamptz '2026-03-10 01:00+00' - i * interval '1 hour', 'a',
       'spawn', 'ag1', 'i1', 600 - i
  FROM generate_series(0, 3) i;
-- A final day for b inside the groups' days: read from its rollup, never from them.
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd, events, final)
VALUES ('b', '2026-03-08', 'total', '', 4242, 4242, 1, true);
SQL

W="'{a,b,c,d}', '{2026-03-01,2026-03-01,2026-03-01,2026-03-01}', '{2026-03-11,2026-03-11,2026-03-11,2026-03-11}', false"
B="'2026-02-28 00:00+00', '2026-03-12 12:00+00'"
# differ: tenant-days whose figures differ between the groups and the raw events
differ() {
  q "$IT_URL" "
WITH r AS (SELECT tenant_id, day, count(*) AS n, sum(cost_nusd) AS c, sum(billed_nusd) AS b,
                  sum(input_tokens) AS i, sum(output_tokens) AS o, sum(cache_read_tokens) AS cr,
                  sum(cache_write_5m_tokens) AS w5, sum(cache_write_1h_tokens) AS w1,
                  count(*) FILTER (WHERE unpriced) AS un,
                  coalesce(sum(reported_cost_nusd), 0) AS rep,
                  count(*) FILTER (WHERE reported_cost_nusd IS NOT NULL) AS repn,
                  count(*) FILTER (WHERE fc_small_request(cost_kind, input_tokens,
                    output_tokens, cache_read_tokens, cache_write_5m_tokens,
                    cache_write_1h_tokens)) AS sn,
                  count(DISTINCT (agent_type, model_family, agent_id, task_id, cost_kind,
                                  fc_speed_key(event_type, speed), price_tiered)) AS k
             FROM fc_spend_events($W, $B) GROUP BY 1, 2),
     o AS (SELECT tenant_id, day, sum(events) AS n, sum(cost_nusd) AS c, sum(billed_nusd) AS b,
                  sum(input_tokens) AS i, sum(output_tokens) AS o, sum(cache_read_tokens) AS cr,
                  sum(cache_write_5m_tokens) AS w5, sum(cache_write_1h_tokens) AS w1,
                  coalesce(sum(events) FILTER (WHERE unpriced), 0) AS un,
                  sum(reported_cost_nusd) AS rep,
                  coalesce(sum(events) FILTER (WHERE reported), 0) AS repn,
                  coalesce(sum(events) FILTER (WHERE small), 0) AS sn,
                  count(DISTINCT (agent_type, model_family, agent_id, task_id, cost_kind, speed,
                                  price_tiered)) AS k
             FROM fc_spend_open($W, $B) GROUP BY 1, 2),
     p AS (SELECT tenant_id, day, events AS n, cost_nusd AS c, billed_nusd AS b, unpriced_events AS un
             FROM fc_period_spend($W) WHERE NOT rollup)
SELECT (SELECT count(*) FROM ((TABLE r EXCEPT TABLE o) UNION ALL (TABLE o EXCEPT TABLE r)) x)
     + (SELECT count(*) FROM ((SELECT tenant_id, day, n, c, b, un FROM r EXCEPT TABLE p)
                              UNION ALL (TABLE p EXCEPT SELECT tenant_id, day, n, c, b, un FROM r)) y)
     + (SELECT CASE WHEN (SELECT count(*) FROM r) >= 20 THEN 0 ELSE 1000 END)"
}
refresh() { q "$IT_URL" "SELECT fc_open_refresh('$NOW')"; }
report() {
  "$fleetcost" report --pg-url "$IT_URL" --all --period range --from 2026-03-01 --to 2026-03-10 \
    --format json --clock "2026-03-10T03:30:00Z" 2>&1 | sed -E 's/"generated_at":"[^"]*"//'
}
marked() { q "$IT_URL" "SELECT count(*) FROM fc_open_mark()"; }
raw_rows() { q "$IT_URL" "SELECT count(*) FROM fc_spend_open($W, $B) WHERE events = 1"; }

ref=$(report)
check "the report reads the events" grep -q '"cost_nusd"' <<<"$ref"
expect_eq "no groups yet: same figures" "$(differ)" 0
expect_eq "no groups yet: no mark" "$(marked)" 0

# Every cost event from 2026-03-08 00:00 UTC, whoever wrote it: 03-10 03:29 back to
# 03-08 00:00 is 3089 minutes, i <= 181.
added=$(refresh)
expect_eq "full refresh: every cost event since 03-08" "$added" 181
expect_eq "full refresh: mark" "$(marked)" 1
expect_eq "full refresh: same figures" "$(differ)" 0
check "full refresh: the groups stand for events" test "$(q "$IT_URL" "SELECT count(*) FROM cost_open_groups")" -gt 0
check "full refresh: fewer rows read raw" test "$(raw_rows)" -lt 500
expect_eq "full refresh: the same report" "$(report)" "$ref"

# Events committed since the refresh: raw until the next one, then added exactly.
q "$IT_URL" - >/dev/null <<'SQL' || it_die "second batch failed"
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, cost_nusd, cost_kind,
                    input_tokens, ingest_id, seq)
SELECT gen_random_uuid(), timestamptz '2026-03-10 03:29+00' - i * interval '13 minutes',
       (ARRAY['a', 'b', 'c'])[1 + i % 3], 'usage', 'ag9', 555 * i, 'usage', i, 'i1', 600 + i
  FROM generate_series(1, 100) i;
UPDATE ingest_state SET last_seq = 700 WHERE ingest_id = 'i1';
SQL
expect_eq "events since: same figures" "$(differ)" 0
expect_eq "incremental refresh: exactly the new events since 03-08" "$(refresh)" 100
expect_eq "incremental refresh: same figures" "$(differ)" 0
expect_eq "incremental refresh: nothing new" "$(refresh)" 0
with=$(report)
q "$IT_URL" "UPDATE cost_open_state SET since = NULL" >/dev/null
expect_eq "incremental refresh: the report equals the one with no groups" "$with" "$(report)"
refresh >/dev/null

# Late events (an old event_time, stored now, at the end of their day's partition): one
# before since (raw: the groups never hold those), one after it (raw, then added).
q "$IT_URL" - >/dev/null <<'SQL' || it_die "late events failed"
INSERT INTO events (event_id, event_time, tenant_id, event_type, cost_nusd, cost_kind, ingest_id, seq)
VALUES (gen_random_uuid(), '2026-03-05 10:00+00', 'a', 'usage', 70001, 'usage', 'late', 1),
       (gen_random_uuid(), '2026-03-08 00:00+00', 'b', 'usage', 70003, 'usage', 'late', 2);
SQL
expect_eq "late events: same figures" "$(differ)" 0
expect_eq "late events: the refresh adds the one since 03-08" "$(refresh)" 1
expect_eq "late events, refreshed: same figures" "$(differ)" 0

# Transactions that span a refresh (a psql fed through a fifo, holding its transaction
# open between lines). insert_lock <mode> <granted>: advisory locks on the key in that state.
insert_lock() {
  q "$IT_URL" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = fc_open_lock_key()
                AND mode = '$1' AND granted = $2"
}
tx_start() { # a psql session reading $IT_TMP/tx; its output in $IT_TMP/tx.log
  rm -f "$IT_TMP/tx"
  mkfifo "$IT_TMP/tx"
  PGAPPNAME=it_open_days_tx psql -X -q -At -v ON_ERROR_STOP=1 "$IT_URL" <"$IT_TMP/tx" >"$IT_TMP/tx.log" 2>&1 &
  txpid=$!
  exec 7>"$IT_TMP/tx"
}
refresh_waits() { test "$(insert_lock ExclusiveLock false)" = 1; }
tx_end() {
  exec 7>&-
  wait $txpid
}
tx_idle() { # the session has run everything sent and waits inside its transaction
  test "$(q "$IT_URL" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'it_open_days_tx'
                        AND state = 'idle in transaction'")" = 1
}
late_row="INSERT INTO events (event_id, event_time, tenant_id, event_type, cost_nusd, cost_kind, ingest_id, seq)
          VALUES (gen_random_uuid(), '2026-03-09 12:00+00', 'c', 'usage', 31337, 'usage', 'tx', 1);"

# 1. Inserted before a refresh, committed while the refresh waits for the lock: the
#    refresh counts it (its snapshot is taken after the grant), exactly once.
tx_start
echo "BEGIN; $late_row" >&7
it_await "the insert" 30 tx_idle
expect_eq "open insert: holds the insert lock shared" "$(insert_lock ShareLock true)" 1
q "$IT_URL" "SELECT fc_open_refresh('$NOW', '60 s')" >"$IT_TMP/refresh.out" 2>&1 &
rpid=$!
it_await "the refresh to wait for the lock" 30 refresh_waits
echo "COMMIT;" >&7
tx_end
wait $rpid
expect_eq "committed during the refresh's wait: counted by it" "$(cat "$IT_TMP/refresh.out")" 1
expect_eq "committed during the refresh's wait: same figures" "$(differ)" 0
expect_eq "committed during the refresh's wait: not counted again" "$(refresh)" 0
expect_eq "committed during the refresh's wait: still the same figures" "$(differ)" 0

# 2. Holding the lock past the refresh's wait: the refresh skips (NULL), nothing changes.
tx_start
echo "BEGIN; $late_row" >&7
it_await "the insert" 30 tx_idle
before=$(q "$IT_URL" "SELECT arrival FROM cost_open_state")
expect_eq "lock held: the refresh skips" "$(q "$IT_URL" "SELECT coalesce(fc_open_refresh('$NOW', '100 ms')::text, 'skipped')")" skipped
expect_eq "lock held: the mark stays" "$(q "$IT_URL" "SELECT arrival FROM cost_open_state")" "$before"
expect_eq "lock held: mark in use" "$(marked)" 1
expect_eq "a refresh leaves no lock and its session's lock_timeout as it was" \
  "$(q "$IT_URL" - <<SQL
SELECT fc_open_refresh('$NOW', '100 ms') \\g /dev/null
SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
SHOW lock_timeout;
SQL
)" "0
0"
echo "COMMIT;" >&7
tx_end
expect_eq "lock held, then committed: same figures (raw)" "$(differ)" 0
expect_eq "lock held, then committed: the next refresh adds it" "$(refresh)" 1
expect_eq "lock held, then committed, refreshed: same figures" "$(differ)" 0

# 3. Begun (snapshot taken) before a refresh, inserted and committed after it.
tx_start
echo "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM events \\g /dev/null" >&7
it_await "the snapshot" 30 tx_idle
expect_eq "begun before: the refresh does not wait for a reader" "$(refresh)" 0
echo "$late_row COMMIT;" >&7
tx_end
expect_eq "begun before, inserted after: same figures (raw)" "$(differ)" 0
expect_eq "begun before, inserted after: the next refresh adds it once" "$(refresh)" 1
expect_eq "begun before, inserted after, refreshed: same figures" "$(differ)" 0
expect_eq "the three transactions' events, once each" \
  "$(q "$IT_URL" "SELECT count(*) FROM fc_spend_events($W, $B) WHERE ingest_id = 'tx'")" 3

# A write past the insert trigger (into a partition) has no arrival: refused.
expect_fail "a write into a partition directly is refused" "bigint|fleetcost.arrival" \
  q "$IT_URL" "INSERT INTO events_20260310 (event_id, event_time, tenant_id, event_type, ingest_id, seq)
               VALUES (gen_random_uuid(), '2026-03-10 01:00+00', 'a', 'spawn', 'x', 1)"

# A reprice: the groups stop counting in the same transaction.
q "$IT_URL" "UPDATE events SET cost_nusd = cost_nusd + 1, billed_nusd = NULL
              WHERE ingest_id = 'i1' AND seq % 3 = 0" >/dev/null
expect_eq "after a reprice: no mark" "$(marked)" 0
expect_eq "after a reprice: same figures" "$(differ)" 0
refresh >/dev/null
expect_eq "after a reprice and a refresh: mark" "$(marked)" 1
expect_eq "after a reprice and a refresh: same figures" "$(differ)" 0

# A tenant's zone: the events' local days change.
q "$IT_URL" "UPDATE tenants SET tz = 'Pacific/Auckland' WHERE tenant_id = 'c'" >/dev/null
expect_eq "after a zone change: no mark" "$(marked)" 0
expect_eq "after a zone change: same figures" "$(differ)" 0
refresh >/dev/null
expect_eq "after a zone change and a refresh: same figures" "$(differ)" 0

# A restart of i1 (a new epoch), then a regression (last_seq back): the mark is not
# theirs any more (0021), the groups stand.
q "$IT_URL" "UPDATE ingest_state SET epoch = 8, last_seq = 650 WHERE ingest_id = 'i1'" >/dev/null
expect_eq "after a restart and a regression: mark" "$(marked)" 1
expect_eq "after a restart and a regression: same figures" "$(differ)" 0
expect_fail "the refresh refuses REPEATABLE READ" "READ COMMITTED" \
  psql -X -q -At -v ON_ERROR_STOP=1 "$IT_URL" -c "BEGIN ISOLATION LEVEL REPEATABLE READ" \
  -c "SELECT fc_open_refresh('$NOW')"
it_done
