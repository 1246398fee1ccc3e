#!/usr/bin/env bash
# it_reporter_live: the dashboard's live totals are fed by the aggregator's sum.<tenant>
# topic. Real ingest, aggregator (own Redis) and reporter: a tenant's Server-Sent-Events
# stream shows a new usage event's cost within about a second of the emit, and the
# reporter counts the summaries it took in.
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
key=$("$fc" key create --pg-url "$IT_URL" --tenant live1 2>/dev/null | grep -m 1 -o 'fck_[0-9a-f_]*')
[ -n "$key" ] || it_die "key create"

"$build/services/ingest/fleetcost-ingest" --insecure --pg-url "$IT_URL" --bind "tcp://127.0.0.1:$ingest" \
  --pub-bind "tcp://127.0.0.1:$pub" --ingest-id it-live --metrics-port 0 2>"$IT_TMP/ingest.log" &
pids+=($!)
"$build/services/aggregator/fleetcost-aggregator" --insecure --pg-url "$IT_URL" \
  --redis-url "redis://127.0.0.1:$redis_port/0" --ingest-pub "tcp://127.0.0.1:$pub" \
  --bind "tcp://127.0.0.1:$sum" --metrics-port 0 --interval-ms 100 2>"$IT_TMP/aggregator.log" &
pids+=($!)
"$build/services/reporter/fleetcost-reporter" --insecure --http-port "$http" \
  --pg-reader-url "$IT_READER_URL" --aggregator-pub "tcp://127.0.0.1:$sum" 2>"$IT_TMP/reporter.log" &
pids+=($!)
base="http://127.0.0.1:$http"
deadline=$((SECONDS + 60))
until curl -sf "$base/healthz" -o /dev/null; do
  [ $SECONDS -ge $deadline ] && it_die "reporter did not start"
  sleep 0.05
done
curl -sN --max-time 300 -H "Authorization: Bearer $key" "$base/api/v1/stream?tenant=live1" >"$IT_TMP/sse.txt" &
pids+=($!)
until grep -q '"today_nusd":"0"' "$IT_TMP/sse.txt" 2>/dev/null; do
  [ $SECONDS -ge $deadline ] && it_die "no first live event"
  sleep 0.05
done

# 1000 input tokens of claude-haiku-4-5 at 1000 nano-USD each: 1,000,000 nano-USD.
emit() {
  "$fc" emit usage --tenant live1 --agent a1 --model claude-haiku-4-5 --input-tokens 1000 \
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
it_done
