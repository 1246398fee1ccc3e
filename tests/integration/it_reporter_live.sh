#!/usr/bin/env bash
# it_reporter_live: the dashboard's live totals are fed by the aggregator's sum.<tenant>
# topic. Real ingest, aggregator (own Redis) and reporter: a tenant's Server-Sent-Events
# stream shows a new usage event's cost within about a second of the emit, and the
# reporter counts the summaries it took in. The all-tenant stream (the admin dashboard's:
# every tenant's own today) equals the sum of the tenants' totals in their own zones
# (UTC+14 and UTC-11 beside UTC), follows new events, is fed by the summaries, not by a
# read of Postgres per poll, and is right again after the reporter restarts.
#   it_reporter_live.sh <build dir>
build=${1:?usage: it_reporter_live.sh <build dir>}
fc=$build/cli/fleetcost
. "$(dirname "$0")/lib.sh"
it_setup reporter_live
"$fc" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
redis_port=$(free_port); ingest=$(free_port); pub=$(free_port); sum=$(free_port); http=$(free_port)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1; it_cleanup' EXIT
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$IT_TMP" \
  --daemonize yes --pidfile "$IT_TMP/redis.pid" >/dev/null || it_die "redis did not start"
"$fc" tenant set --pg-url "$IT_URL" --tenant live1 --tz UTC >/dev/null || it_die "tenant set"
"$fc" tenant set --pg-url "$IT_URL" --tenant east1 --tz Pacific/Kiritimati >/dev/null || it_die "tenant set"
"$fc" tenant set --pg-url "$IT_URL" --tenant west1 --tz Pacific/Pago_Pago >/dev/null || it_die "tenant set"
admin=$("$fc" key create --pg-url "$IT_URL" --admin 2>/dev/null)
[ -n "$admin" ] || it_die "admin key create"
key=$("$fc" key create --pg-url "$IT_URL" --tenant live1 2>/dev/null | grep -m 1 -o 'fck_[0-9a-f_]*')
[ -n "$key" ] || it_die "key create"

"$build/services/ingest/fleetcost-ingest" --insecure --pg-url "$IT_URL" --bind "tcp://127.0.0.1:$ingest" \
  --pub-bind "tcp://127.0.0.1:$pub" --ingest-id it-live --metrics-port 0 2>"$IT_TMP/ingest.log" &
pids+=($!)
"$build/services/aggregator/fleetcost-aggregator" --insecure --pg-url "$IT_URL" \
  --redis-url "redis://127.0.0.1:$redis_port/0" --ingest-pub "tcp://127.0.0.1:$pub" \
  --bind "tcp://127.0.0.1:$sum" --metrics-port 0 --interval-ms 100 --republish-s 5 \
  2>"$IT_TMP/aggregator.log" &
pids+=($!)
start_reporter() {
  "$build/services/reporter/fleetcost-reporter" --insecure --http-port "$http" \
    --pg-reader-url "$IT_READER_URL" --aggregator-pub "tcp://127.0.0.1:$sum" 2>>"$IT_TMP/reporter.log" &
  reporter_pid=$!
  pids+=($!)
  local deadline=$((SECONDS + 60))
  until curl -sf "$base/healthz" -o /dev/null; do
    [ $SECONDS -ge $deadline ] && it_die "reporter did not start"
    sleep 0.05
  done
}
base="http://127.0.0.1:$http"
start_reporter
deadline=$((SECONDS + 60))
curl -sN --max-time 300 -H "Authorization: Bearer $key" "$base/api/v1/stream?tenant=live1" >"$IT_TMP/sse.txt" &
pids+=($!)
until grep -q '"today_nusd":"0"' "$IT_TMP/sse.txt" 2>/dev/null; do
  [ $SECONDS -ge $deadline ] && it_die "no first live event"
  sleep 0.05
done

# 1000 input tokens of claude-haiku-4-5 at 1000 nano-USD each: 1,000,000 nano-USD.
emit() { # [tenant] [input tokens]
  "$fc" emit usage --tenant "${1:-live1}" --agent a1 --model claude-haiku-4-5 --input-tokens "${2:-1000}" \
    --ingest-endpoints "tcp://127.0.0.1:$ingest" --spool-dir "$IT_TMP/spool" --timeout-ms 5000
}
t0=$(date +%s%N)
check "emit acked" emit
deadline=$((SECONDS + 30))
until grep -q '"today_nusd":"1000000"' "$IT_TMP/sse.txt"; do
  [ $SECONDS -ge $deadline ] && break
  sleep 0.01
done
t1=$(date +%s%N)
check "the stream showed the new total" grep -q '"today_nusd":"1000000"' "$IT_TMP/sse.txt"
ms=$(((t1 - t0) / 1000000))
echo "info: emit -> dashboard stream: ${ms} ms"
check "within about a second (${ms} ms)" test "$ms" -lt 1500
summaries=$(curl -s "$base/metrics" | awk '/^fleetcost_reporter_live_summaries_total/ {print $2}')
check "fed by the aggregator's summaries ($summaries taken in)" test "${summaries:-0}" -gt 0
expect_eq "the figure equals SQL" "$(q "$IT_URL" "SELECT sum(cost_nusd) FROM events WHERE tenant_id='live1'")" 1000000
# The aggregator's rollup round brings the open days' exact groups (0019) up to the event.
grouped() { q "$IT_URL" "SELECT coalesce(sum(cost_nusd), 0) FROM cost_open_groups WHERE tenant_id = 'live1'"; }
deadline=$((SECONDS + 30))
until [ "$(grouped)" = 1000000 ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
expect_eq "the aggregator summed the event into the open-day groups" "$(grouped)" 1000000
expect_eq "their mark stands, past the event's arrival" \
  "$(q "$IT_URL" "SELECT bool_and(m.arrival > e.arrival) FROM fc_open_mark() m, events e WHERE e.tenant_id = 'live1'")" t

# --- The all-tenant stream: every tenant's own today, summed ------------------------
# What SQL says: each tenant's cost on its own local today.
sql_all() {
  q "$IT_URL" "SELECT coalesce(sum(e.cost_nusd), 0) FROM events e JOIN tenants t USING (tenant_id)
                WHERE (e.event_time AT TIME ZONE t.tz)::date = (now() AT TIME ZONE t.tz)::date"
}
metric() { curl -s "$base/metrics" | awk -v m="fleetcost_reporter_$1" '$1 == m {print $2}'; }
last_total() { grep -o '"today_nusd":"[0-9]*"' "$1" 2>/dev/null | tail -n 1 | grep -o '[0-9]*'; }
await_total() { # <file> <nano-USD> <seconds>: true once the stream's newest figure is it
  local deadline=$((SECONDS + $3))
  until [ "$(last_total "$1")" = "$2" ]; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.02
  done
}
check "east1 acked" emit east1 2000
check "west1 acked" emit west1 3000
want=$(q "$IT_URL" "SELECT 1000000 + 2000000 + 3000000")
expect_eq "SQL: the tenants' own todays add up" "$(sql_all)" "$want"
curl -sN --max-time 300 -H "Authorization: Bearer $admin" "$base/api/v1/stream" >"$IT_TMP/sse_all.txt" &
pids+=($!)
check "the all-tenant stream shows the sum of the tenants' totals" await_total "$IT_TMP/sse_all.txt" "$want" 20
# The tenants' todays differ (UTC+14, UTC, UTC-11): now_day is the latest, Kiritimati's.
check "now_day is the latest tenant-local today" \
  grep -q "\"now_day\":\"$(TZ=Pacific/Kiritimati date +%F)\"" "$IT_TMP/sse_all.txt"
# Every tenant has a fresh summary now (republished every 5 s). A new event moves the
# all-tenant figure through the summaries alone: no Postgres read but the tenant list's
# (at most one per 10 s), where the old stream re-summed today's events every 500 ms.
deadline=$((SECONDS + 20))
until [ "$(metric live_summaries_total)" -ge 6 ] 2>/dev/null; do
  [ $SECONDS -ge $deadline ] && break
  sleep 0.05
done
reads0=$(metric live_db_reads_total)
t0=$(date +%s%N)
check "east1 acked again" emit east1 5000
want=$((want + 5000000))
check "the all-tenant stream follows a new event" await_total "$IT_TMP/sse_all.txt" "$want" 10
t1=$(date +%s%N)
echo "info: emit -> all-tenant stream: $(((t1 - t0) / 1000000)) ms"
expect_eq "and equals SQL" "$(sql_all)" "$want"
# A measurement window (not a wait for a condition): 3 s in which the old stream read
# Postgres at least 6 times.
while [ $(($(date +%s%N) - t0)) -lt 3000000000 ]; do sleep 0.1; done
reads=$(($(metric live_db_reads_total) - reads0))
echo "info: Postgres reads by live streams in 3 s with the all-tenant page open: $reads"
check "fed by the summaries: at most one Postgres read in 3 s ($reads)" test "$reads" -le 1

# A restarted reporter has no summaries: it reads Postgres until every tenant's arrive,
# and is right either way.
kill -TERM "$reporter_pid"
wait "$reporter_pid" 2>/dev/null
start_reporter
curl -sN --max-time 300 -H "Authorization: Bearer $admin" "$base/api/v1/stream" >"$IT_TMP/sse_all2.txt" &
pids+=($!)
check "after a reporter restart the all-tenant stream shows the same sum" \
  await_total "$IT_TMP/sse_all2.txt" "$want" 10
deadline=$((SECONDS + 20))
until [ "$(metric live_summaries_total)" -ge 3 ] 2>/dev/null; do
  [ $SECONDS -ge $deadline ] && break
  sleep 0.05
done
check "west1 acked again" emit west1 7000
want=$((want + 7000000))
check "and follows the next event" await_total "$IT_TMP/sse_all2.txt" "$want" 10
expect_eq "which equals SQL" "$(sql_all)" "$want"
it_done
