#!/usr/bin/env bash
# it_rebuild_rollup: a closed day whose events reached the aggregator only through a
# rebuild from Postgres (stored while it was down, Redis empty when it came back) still
# gets its final rollup (phases 1-2). Phase 3: Redis dies while a rebuild reads its
# snapshot; the rebuild lets the snapshot go within 10 s instead of keeping its
# transaction open in Postgres until Redis returns, and starts again once it does; while
# Redis stays down it begins no snapshot (before, one a second, each cancelled).
# Before 2026-12-07 the rebuild republished such days but never
# queued their rollups, so cost_summaries kept no (or an old) row for them and every
# reader of closed days (reports, billing, FOCUS) missed those events; it_rates hit it
# whenever its events won the race against the aggregator's first rebuild.
#   it_rebuild_rollup.sh <fleetcost> <ingest> <aggregator>
fleetcost=${1:?usage: it_rebuild_rollup.sh <fleetcost> <ingest> <aggregator>}
ingest_bin=${2:?} aggregator_bin=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_setup rebuild_rollup
"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
read -r p_redis p_in p_pub p_sum < <(it_free_ports 4)
it_redis_start "$p_redis"
ingest_pid= agg_pid= session_pid=
stop_all() {
  [ -n "$session_pid" ] && kill "$session_pid" 2>/dev/null
  [ -n "$ingest_pid" ] && kill "$ingest_pid" 2>/dev/null
  [ -n "$agg_pid" ] && kill -CONT "$agg_pid" 2>/dev/null && kill "$agg_pid" 2>/dev/null
  wait 2>/dev/null
  it_redis_stop
  it_cleanup
}
trap stop_all EXIT
for t in acme tokyo; do
  zone=UTC
  [ "$t" = tokyo ] && zone=Asia/Tokyo
  "$fleetcost" tenant set --pg-url "$IT_URL" --tenant "$t" --tz "$zone" >/dev/null || it_die "tenant $t"
done
day=$(it_date -3)

# Events of a closed day, stored while no aggregator runs.
"$ingest_bin" --insecure --pg-url "$IT_URL" --ingest-id it --bind "tcp://127.0.0.1:$p_in" \
  --pub-bind "tcp://127.0.0.1:$p_pub" --metrics-port 0 --group-ms 2 >>"$IT_TMP/ingest.log" 2>&1 &
ingest_pid=$!
ts=$(date -u -d "$day 12:00:00" +%s)
out=$("$fleetcost" emit --stdin --ingest-endpoints "tcp://127.0.0.1:$p_in" --spool-dir "$IT_TMP/spool" \
  --timeout-ms 30000 2>&1 <<EOF2
{"type":"usage","tenant":"acme","agent":"a1","time":$ts,"model":"claude-haiku-4-5","input_tokens":1000}
{"type":"usage","tenant":"acme","agent":"a2","time":$((ts + 1)),"model":"claude-haiku-4-5","output_tokens":10}
{"type":"usage","tenant":"tokyo","agent":"t1","time":$((ts + 2)),"model":"claude-haiku-4-5","input_tokens":7}
EOF2
)
expect_eq "3 events stored before any aggregator ran" "$(grep -o '^emit: [0-9]* acked' <<<"$out")" \
  "emit: 3 acked"
expect_eq "no rollup of the day yet" \
  "$(q "$IT_URL" "SELECT count(*) FROM cost_summaries WHERE day = '$day'")" 0

# The aggregator starts with Redis empty: it rebuilds the shard from Postgres.
"$aggregator_bin" --insecure --pg-url "$IT_URL" --redis-url "redis://127.0.0.1:$p_redis/0" \
  --ingest-pub "tcp://127.0.0.1:$p_pub" --bind "tcp://127.0.0.1:$p_sum" --metrics-port 0 \
  --interval-ms 200 --rollup-ms 300 >>"$IT_TMP/aggregator.log" 2>&1 &
agg_pid=$!
# Expected, by hand from db/pricing/anthropic.csv (haiku-4-5: input 1,000, output 5,000
# nano-USD per token): acme 1,000,000 + 50,000 = 1,050,000 over 2 events; tokyo 7,000.
want="acme 1050000 1050000 2|tokyo 7000 7000 1"
got= deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
  got=$(q "$IT_URL" "SELECT string_agg(tenant_id || ' ' || cost_nusd || ' ' || billed_nusd || ' ' || events,
                       '|' ORDER BY tenant_id) FROM cost_summaries
                      WHERE dimension = 'total' AND final AND day = '$day'")
  [ "$got" = "$want" ] && break
  sleep 0.2
done
expect_eq "the rebuilt day's final rollups (total row: list, billed, events)" "$got" "$want"
expect_eq "its breakdown rows too (agents of acme)" \
  "$(q "$IT_URL" "SELECT string_agg(key || ' ' || cost_nusd, ',' ORDER BY key) FROM cost_summaries
                  WHERE tenant_id = 'acme' AND day = '$day' AND dimension = 'agent' AND final")" \
  "a1 1000000,a2 50000"
expect_eq "the month's rollup (cost_months) carries them" \
  "$(q "$IT_URL" "SELECT cost_nusd FROM cost_months WHERE tenant_id = 'acme'
                  AND month = date_trunc('month', date '$day')::date AND dimension = 'total'")" \
  1050000
check "the rebuild said it queued the 2 days" grep -q "rebuilt from postgres: .*days to roll up: 2" \
  "$IT_TMP/aggregator.log"

# Redis lost again. acme's rollup is right and is left alone; tokyo's was changed behind
# the aggregator's back (as a bad restore would) and is rolled up again.
acme_at=$(q "$IT_URL" "SELECT updated_at FROM cost_summaries WHERE tenant_id = 'acme'
                       AND day = '$day' AND dimension = 'total'")
q "$IT_URL" "UPDATE cost_summaries SET cost_nusd = 1 WHERE tenant_id = 'tokyo' AND day = '$day'
             AND dimension = 'total'" >/dev/null || it_die "update failed"
redis-cli -p "$p_redis" FLUSHALL >/dev/null || it_die "flushall failed"
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ] &&
  [ "$(grep -c "rebuilt from postgres: .*days to roll up" "$IT_TMP/aggregator.log")" -lt 2 ]; do
  sleep 0.2
done
check "the second rebuild queued only tokyo's day" grep -q "rebuilt from postgres: .*days to roll up: 1" \
  "$IT_TMP/aggregator.log"
got= deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
  got=$(q "$IT_URL" "SELECT cost_nusd FROM cost_summaries WHERE tenant_id = 'tokyo' AND day = '$day'
                      AND dimension = 'total' AND final")
  [ "$got" = 7000 ] && break
  sleep 0.2
done
expect_eq "tokyo's changed rollup is rolled up again from its events" "$got" 7000
expect_eq "acme's right rollup was not rewritten" \
  "$(q "$IT_URL" "SELECT updated_at FROM cost_summaries WHERE tenant_id = 'acme'
                  AND day = '$day' AND dimension = 'total'")" "$acme_at"

# Phase 3. A psql session holds cost_summaries (the snapshot's rollup probe reads it), so
# the next rebuild's snapshot waits. acme and tokyo lose their applied markers and send
# an event each while the aggregator is stopped (SIGSTOP), so that it reads both messages
# in one turn: one rebuild of both begins and waits. Redis stops, the aggregator notices, then the session
# lets go: the snapshot's rows arrive with no Redis to write them to. The aggregator reads
# the first tenant's rows and waits for Redis before reading more (its memory bound), so
# the snapshot's query is not done: before 2026-12-07 its transaction stayed open.
mkfifo "$IT_TMP/session"
psql "$IT_URL" -q -v ON_ERROR_STOP=0 <"$IT_TMP/session" >"$IT_TMP/session.log" 2>&1 &
session_pid=$!
exec 7>"$IT_TMP/session"
echo "BEGIN; LOCK TABLE cost_summaries IN ACCESS EXCLUSIVE MODE;" >&7
locked() { [ "$(q "$IT_URL" "SELECT count(*) FROM pg_locks WHERE locktype = 'relation' AND granted
  AND mode = 'AccessExclusiveLock' AND relation = 'cost_summaries'::regclass")" -ge 1 ]; }
it_await "the session took its lock" 30 locked
redis-cli -p "$p_redis" DEL "fc:{acme}:applied" "fc:{tokyo}:applied" >/dev/null || it_die "del failed"
kill -STOP "$agg_pid"
out=$("$fleetcost" emit --stdin --ingest-endpoints "tcp://127.0.0.1:$p_in" --spool-dir "$IT_TMP/spool" \
  --timeout-ms 30000 2>&1 <<EOF2
{"type":"usage","tenant":"acme","agent":"a3","time":$((ts + 3)),"model":"claude-haiku-4-5","input_tokens":2}
{"type":"usage","tenant":"tokyo","agent":"t1","time":$((ts + 4)),"model":"claude-haiku-4-5","input_tokens":3}
EOF2
)
kill -CONT "$agg_pid"
expect_eq "their next events stored" "$(grep -o '^emit: [0-9]* acked' <<<"$out")" "emit: 2 acked"
snapshot_waits() { [ "$(q "$IT_URL" "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
  AND application_name = 'fleetcost-aggregator'")" -ge 1 ]; }
it_await "the rebuild's snapshot waited for the session" 30 snapshot_waits
check "a rebuild of the two tenants had begun" grep -q "tenant rebuild from postgres begun: 2 tenants" \
  "$IT_TMP/aggregator.log"
it_redis_stop
noticed() { grep -q "redis 127.0.0.1:$p_redis unavailable" "$IT_TMP/aggregator.log"; }
it_await "the aggregator noticed Redis gone" 30 noticed
echo "COMMIT;" >&7
exec 7>&-
wait "$session_pid"
session_pid=
# The aggregator's transactions: before 2026-12-07 the snapshot's stayed open (idle in
# transaction, its rows unread) for as long as Redis was down.
# (older than a second: the rollup worker's own transactions are short)
agg_xacts() { q "$IT_URL" "SELECT count(*) FROM pg_stat_activity WHERE application_name =
  'fleetcost-aggregator' AND xact_start < now() - interval '1 second'"; }
snapshot_open() { [ "$(agg_xacts)" -ge 1 ]; }
it_await "the snapshot's transaction is open once its rows flow" 10 snapshot_open
snapshot_gone() { [ "$(agg_xacts)" = 0 ]; }
it_await "the aggregator closed the snapshot's transaction while Redis is down" 30 snapshot_gone
check "it said why" grep -q "redis down for 10 s during a rebuild: its postgres snapshot let go" \
  "$IT_TMP/aggregator.log"
# While Redis stays down no new snapshot is begun (it could not be written): three
# seconds of the aggregator's once-a-second retries, watched rather than slept through.
begun_down=$(grep -c "rebuild from postgres begun" "$IT_TMP/aggregator.log")
watch_until=$((SECONDS + 3)) seen=0
while [ $SECONDS -lt $watch_until ]; do [ "$(agg_xacts)" = 0 ] || seen=$((seen + 1)); sleep 0.1; done
expect_eq "no transaction of the aggregator open while Redis is down" "$seen" 0
expect_eq "no rebuild begun while Redis is down" \
  "$(grep -c "rebuild from postgres begun" "$IT_TMP/aggregator.log")" "$begun_down"
it_redis_start "$p_redis"
got= deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
  got=$(redis-cli -p "$p_redis" --raw EXISTS "fc:agg:0-1:ready")
  [ "$got" = 1 ] && break
  sleep 0.2
done
expect_eq "the shard rebuilt once Redis was back (its sentinel set)" "$got" 1
check "by a new rebuild" test "$(grep -c "rebuild from postgres begun" "$IT_TMP/aggregator.log")" \
  -gt "$begun_down"
expect_eq "acme's day in Redis equals its events" \
  "$(redis-cli -p "$p_redis" --raw HGET "fc:{acme}:day:$day" cost_nusd)" 1052000
it_done
