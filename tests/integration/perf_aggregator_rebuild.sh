#!/usr/bin/env bash
# perf_aggregator_rebuild: the aggregator's rebuilds from Postgres on a year of 100
# tenants (the seed of it_reporter_perf.sh, about 11 million events), measured:
#  1. the whole shard rebuilt when the aggregator starts on an empty Redis, and again
#     after FLUSHALL while it runs: the time until the shard is rebuilt (its log line);
#  2. one tenant (t042) rebuilt (its applied marker deleted, then one event of it sent)
#     while another tenant's events stream in at a fixed rate (fleetcost-bench
#     pipeline): the worst emit -> Redis delay of that other tenant, and the loop's
#     longest turn (fleetcost_aggregator_loop_stall_max_ms: how long any stream message
#     or summary waited).
# Prints the figures (docs/BENCHMARKS.md, "Aggregator rebuilds"); checks only that each
# rebuild finished and the other tenant's events all reached Redis.
#   perf_aggregator_rebuild.sh <fleetcost> <fleetcost-ingest> <fleetcost-aggregator>
#                              <fleetcost-bench> [url of a database seeded before]
fleetcost=${1:?usage: perf_aggregator_rebuild.sh <fleetcost> <ingest> <aggregator> <bench> [db url]}
ingest_bin=${2:?}
aggregator_bin=${3:?}
bench_bin=${4:?}
seeded=${5:-}
here=$(dirname "$0")
. "$here/lib.sh"
it_setup aggregator_rebuild_perf

if [ -n "$seeded" ]; then
  IT_URL=$seeded
else
  "$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
  # The seed of it_reporter_perf.sh, taken from it so that both measure the same year.
  sed -n "/^q \"\$IT_URL\" - >\/dev\/null <<'SQL'/,/^SQL\$/p" "$here/it_reporter_perf.sh" |
    sed '1d;$d' >"$IT_TMP/seed.sql"
  [ -s "$IT_TMP/seed.sql" ] || it_die "no seed SQL found in it_reporter_perf.sh"
  start=$SECONDS
  psql -q -v ON_ERROR_STOP=1 "$IT_URL" -f "$IT_TMP/seed.sql" >/dev/null || it_die "seeding failed"
  echo "seeded in $((SECONDS - start)) s"
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
p_redis=$(free_port) p_in=$(free_port) p_pub=$(free_port) p_sum=$(free_port) p_met=$(free_port)
redis-server --port "$p_redis" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$IT_TMP/redis.pid" --logfile "$IT_TMP/redis.log" >/dev/null || it_die "redis-server did not start"
ingest_pid= agg_pid= bench_pid=
stop_all() {
  for p in $bench_pid $ingest_pid $agg_pid; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -f "$IT_TMP/redis.pid" ] && kill "$(cat "$IT_TMP/redis.pid")" 2>/dev/null
  it_cleanup
}
trap stop_all EXIT
for _ in $(seq 1 50); do redis-cli -p "$p_redis" ping >/dev/null 2>&1 && break; sleep 0.1; done

"$ingest_bin" --insecure --pg-url "$IT_URL" --ingest-id perf-live --bind "tcp://127.0.0.1:$p_in" \
  --pub-bind "tcp://127.0.0.1:$p_pub" --metrics-port 0 >"$IT_TMP/ingest.log" 2>&1 &
ingest_pid=$!
"$aggregator_bin" --insecure --pg-url "$IT_URL" --redis-url "redis://127.0.0.1:$p_redis/0" \
  --ingest-pub "tcp://127.0.0.1:$p_pub" --bind "tcp://127.0.0.1:$p_sum" --metrics-port "$p_met" \
  --interval-ms 200 >"$IT_TMP/aggregator.log" 2>&1 &
agg_pid=$!
metric() { # metric <name>: the aggregator's value, or -1
  local v
  v=$(curl -sf --max-time 2 "http://127.0.0.1:$p_met/metrics" | awk -v m="fleetcost_aggregator_$1" '$1 == m { print $2 }')
  echo "${v:--1}"
}
# wait_log <pattern> <count> <seconds>: until the aggregator's log has count such lines.
wait_log() {
  local deadline=$((SECONDS + $3))
  while [ "$(grep -c -- "$1" "$IT_TMP/aggregator.log")" -lt "$2" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
last_ms() { grep -- "$1" "$IT_TMP/aggregator.log" | tail -1 | sed -n 's/.* \([0-9]*\) ms.*/\1/p'; }

# 1. The whole shard: at start (Redis empty), then after FLUSHALL.
check "shard rebuilt at start" wait_log "shard rebuilt from postgres" 1 600
echo "info: shard rebuild at start (redis empty): $(last_ms "shard rebuilt from postgres") ms"
redis-cli -p "$p_redis" FLUSHALL >/dev/null
check "shard rebuilt after FLUSHALL" wait_log "shard rebuilt from postgres" 2 600
echo "info: shard rebuild after FLUSHALL: $(last_ms "shard rebuilt from postgres") ms"
# What the rebuild wrote, for sample tenants of each zone: this month's and a day's
# totals in Redis equal SQL's sums over their events (nothing streams yet).
for t in t001 t002 t007 t096; do
  tz=$(q "$IT_URL" "SELECT tz FROM tenants WHERE tenant_id = '$t'")
  month=$(q "$IT_URL" "SELECT to_char(now() AT TIME ZONE '$tz', 'YYYY-MM')")
  day=$(q "$IT_URL" "SELECT ((now() AT TIME ZONE '$tz')::date - 7)::text")
  for period in "month:$month" "day:$day"; do
    key=${period%%:*} val=${period#*:}
    # (constant time bounds a day wider than any zone: Postgres prunes the partitions)
    if [ "$key" = month ]; then
      cond="event_time >= date '$val-01' - 1 AND event_time < date '$val-01' + interval '1 month 1 day'
            AND to_char(event_time AT TIME ZONE '$tz', 'YYYY-MM') = '$val'"
    else
      cond="event_time >= date '$val' - 1 AND event_time < date '$val' + 2
            AND (event_time AT TIME ZONE '$tz')::date = '$val'"
    fi
    want=$(q "$IT_URL" "SELECT count(*) || ' ' || sum(cost_nusd) || ' ' || sum(input_tokens)
                        FROM events WHERE tenant_id = '$t' AND cost_kind IS NOT NULL AND $cond")
    got=$(for f in events cost_nusd input_tokens; do redis-cli -p "$p_redis" HGET "fc:{$t}:$period" "$f"; done | paste -sd' ')
    expect_eq "$t $period ($tz): redis (events, cost, input tokens) = sql" "$got" "$want"
  done
done

# 2. One tenant rebuilt while another streams: 40 events/s in batches of 4 for 30 s.
"$bench_bin" pipeline --endpoint "tcp://127.0.0.1:$p_in" --redis-url "redis://127.0.0.1:$p_redis/0" \
  --tenant "live-other-$$" --rate 40 --batch 4 --events 1200 >"$IT_TMP/bench.out" 2>"$IT_TMP/bench.err" &
bench_pid=$!
sleep 8
before=$(grep -c "tenants rebuilt from postgres" "$IT_TMP/aggregator.log")
redis-cli -p "$p_redis" DEL "fc:{t042}:applied" >/dev/null
printf '{"tenant":"t042","agent":"a","type":"usage","model":"claude-sonnet-4-5","input_tokens":1,"output_tokens":1,"time":%d}\n' "$(date +%s)" |
  "$fleetcost" emit --stdin --ingest-endpoints "tcp://127.0.0.1:$p_in" --spool-dir "$IT_TMP/spool" \
    --timeout-ms 30000 >/dev/null 2>&1 || it_die "the t042 event was not sent"
# More of t042 while its snapshot query runs: held, then applied after its write.
for i in 1 2 3 4 5; do
  python3 -c 'import json, time
for k in range(20):
    print(json.dumps({"tenant": "t042", "agent": "a%d" % k, "type": "usage", "model": "claude-sonnet-4-5",
                      "input_tokens": 1000 + k, "output_tokens": 10, "time": int(time.time())}))' |
    "$fleetcost" emit --stdin --ingest-endpoints "tcp://127.0.0.1:$p_in" --spool-dir "$IT_TMP/spool" \
      --timeout-ms 30000 >/dev/null 2>&1 || it_die "t042 events were not sent"
  sleep 0.3
done
check "t042 rebuilt" wait_log "tenants rebuilt from postgres" $((before + 1)) 300
echo "info: one tenant (t042) rebuilt: $(last_ms "tenants rebuilt from postgres") ms"
# t042's today in Redis equals SQL (its zone is America/New_York): nothing held was lost.
day=$(q "$IT_URL" "SELECT (now() AT TIME ZONE 'America/New_York')::date")
want=$(q "$IT_URL" "SELECT count(*) || ' ' || sum(cost_nusd) FROM events WHERE tenant_id = 't042'
                    AND cost_kind IS NOT NULL AND (event_time AT TIME ZONE 'America/New_York')::date = '$day'")
got=
for _ in $(seq 1 100); do
  got="$(redis-cli -p "$p_redis" HGET "fc:{t042}:day:$day" events) $(redis-cli -p "$p_redis" HGET "fc:{t042}:day:$day" cost_nusd)"
  [ "$got" = "$want" ] && break
  sleep 0.2
done
expect_eq "t042 today: redis (events, cost) = sql" "$got" "$want"
wait "$bench_pid"
rc=$?
bench_pid=
out=$(cat "$IT_TMP/bench.out")
echo "info: the other tenant meanwhile: $out"
expect_eq "the other tenant's events all reached redis" "$rc" 0
echo "info: loop_stall_max_ms=$(metric loop_stall_max_ms) (the longest turn since start, -1: not measured by this build)"
echo "info: aggregator peak RSS (VmHWM): $(awk '/^VmHWM/ {print $2}' "/proc/$agg_pid/status") kB"
it_done
