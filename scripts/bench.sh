#!/usr/bin/env bash
# The benchmark: one run, everything side by side on this machine, written to
# docs/BENCHMARKS.md with the machine and the command that produced each figure.
#   scripts/bench.sh [--quick] [--only SECTIONS]
#     --quick   smaller counts, for a smoke run
#     --only    a comma list of sections: ingest (sustained, COPY ceiling, CurveZMQ: the
#               three twice, in mirrored order; ack latency with the cold start),
#               insert, pipeline (emit -> Redis, then every service under load: the
#               all-tenant live total's Postgres work and each service's peak RSS),
#               reporter (a year of 100 tenants), rebuild (the
#               aggregator's, on the reporter's year when both run), shell. A run of
#               some sections prints its figures and leaves docs/BENCHMARKS.md alone:
#               the document (everything above its hand-written part) is written from
#               one complete run only. A complete run takes 15-20 minutes on 2 cores,
#               most of it seeding the year (11.5M events).
#   FLEETCOST_BENCH_INGEST=path runs another fleetcost-ingest binary (before/after).
#   FLEETCOST_BENCH_YEAR_URL=url: for `--only rebuild`, a database seeded before with
#               it_reporter_perf.sh's year (the rebuild test adds a few events to it),
#               instead of seeding one (7-13 minutes).
# Needs the local stack (started here if it is not running) and a build (made here).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
args="$*"
quick=0
only=all
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --only) only=${2:?--only needs a list}; shift ;;
    *) echo "bench: unknown argument $1 (see the head of $0)" >&2; exit 2 ;;
  esac
  shift
done
want() { [ "$only" = all ] || [[ ",$only," == *",$1,"* ]]; }

./scripts/deps.sh
command -v sqlite3 >/dev/null || { apt-get install -y -qq sqlite3 >/dev/null; }
./scripts/build.sh >/dev/null
./scripts/stack.sh up >/dev/null
# shellcheck disable=SC1091
. "$root/.fleetcost/env"
bin=${FLEETCOST_BUILD:-$root/build}
out=$root/docs/BENCHMARKS.md
work=$(mktemp -d /tmp/fleetcost-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if [ $quick -eq 1 ]; then n_sustain=200000; n_insert=5000; n_shell=50; else
  n_sustain=1000000; n_insert=20000; n_shell=200; fi
n_pages=20 # open all-tenant live pages (4c)
live_s=10  # seconds of the live-total window (4c)

admin=$FLEETCOST_PG_ADMIN_URL
db_url="postgresql://fleetcost@127.0.0.1:$FLEETCOST_PG_PORT/fc_bench"
fresh_db() {
  psql "$admin" -qXc "DROP DATABASE IF EXISTS fc_bench WITH (FORCE)" -c "CREATE DATABASE fc_bench OWNER fleetcost" >/dev/null
  "$bin/cli/fleetcost" migrate --pg-url "$db_url" >/dev/null
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_of() { awk '{printf "%.2f", ($14+$15)/100}' "/proc/$1/stat"; }
rss_of() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

ingest_bin=${FLEETCOST_BENCH_INGEST:-$bin/services/ingest/fleetcost-ingest}
ingest_rss_max=0 # the highest peak resident size of any ingest run, MB
start_ingest() { # $1 = ingest id, then extra flags (default --insecure)
  local id=$1
  shift
  [ $# -eq 0 ] && set -- --insecure
  ingest_port=$(free_port); pub_port=$(free_port)
  : >"$work/ingest.log"
  "$ingest_bin" "$@" --pg-url "$db_url" \
    --bind "tcp://127.0.0.1:$ingest_port" --pub-bind "tcp://127.0.0.1:$pub_port" \
    --ingest-id "$id" --metrics-port 0 2>>"$work/ingest.log" &
  ingest_pid=$!
  pids+=("$ingest_pid")
  for _ in $(seq 1 100); do grep -q "listening on" "$work/ingest.log" 2>/dev/null && break; sleep 0.05; done
}
stop_ingest() {
  local rss
  rss=$(rss_of "$ingest_pid")
  ingest_rss_max=$(echo "if ($rss > $ingest_rss_max) $rss else $ingest_rss_max" | bc)
  kill -TERM "$ingest_pid"; wait "$ingest_pid" 2>/dev/null || true
}
ratio_of() { printf "%.2f" "$(echo "scale=4; $1 / $2" | bc)"; }

echo "bench: machine"
cpu_model=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)
mem=$(free -g | awk '/Mem:/ {print $2 " GiB"}')
pg_version=$(psql "$admin" -AtXc "SHOW server_version")
when=$(date -u +%Y-%m-%dT%H:%M:%SZ)
t_start=$SECONDS
load_start=$(cut -d ' ' -f 1-3 /proc/loadavg)
command_line="scripts/bench.sh${args:+ $args}"

if want ingest; then
# 1. fleetcost sustained (many simulated agents, acks after commit), 2. the ceiling
# (psql \copy of the same rows into the same, emptied, events table) and 2b. the same
# ingest with CurveZMQ, twice, in the order plaintext, COPY, CurveZMQ, then CurveZMQ,
# COPY, plaintext: on a shared machine the load drifts over minutes and single runs
# swing by 2x, and the mirrored order gives each mode the same mean position. A figure is
# the mean of its two runs, a ratio the mean of the two rounds' ratios (each from runs a
# minute apart). Beside each rate, the CPU seconds per 100,000 events of ingest and of
# the load generator while the clock ran: the generator (its CurveZMQ encryption
# included) shares the 2 cores with ingest and Postgres, which real agents do not.
cmd_sustain="fleetcost-bench ingest --events $n_sustain --agents 16 --batch 500 --window 8"
per_100k() { printf "%.3f" "$(echo "scale=4; $1 * 100000 / $n_sustain" | bc)"; }
mean_of() { printf "%.${3:-0}f" "$(echo "scale=4; ($1 + $2) / 2" | bc)"; }
"$bin/cli/fleetcost" cert init --cert-dir "$work/certs" >/dev/null
sustained() { # $1 = plain|curve, $2 = round: sets r_<mode>_<round>, rate, ingest CPU
  local mode=$1 k=$2 c0 cpu r
  local flags=(--events "$n_sustain" --agents 16 --batch 500 --window 8)
  echo "bench: ingest sustained, $mode, round $k ($n_sustain events, load $(cut -d ' ' -f 1 /proc/loadavg))"
  fresh_db
  if [ "$mode" = curve ]; then
    # Secure mode never registers tenants from events: the operator registers the 20
    # tenants `fleetcost-bench ingest` spreads over (bench-000 ... bench-019) first.
    for i in $(seq 0 19); do
      "$bin/cli/fleetcost" tenant set --pg-url "$db_url" --tenant "$(printf 'bench-%03d' "$i")" \
        --actor bench >/dev/null
    done
    start_ingest bench-c --cert-dir "$work/certs"
    flags+=(--cert "$work/certs/operator.cert_secret" --server-cert "$work/certs/server.cert")
  else
    start_ingest bench-a
  fi
  c0=$(cpu_of "$ingest_pid")
  r=$("$bin/cli/fleetcost-bench" ingest --endpoint "tcp://127.0.0.1:$ingest_port" "${flags[@]}")
  cpu=$(echo "$(cpu_of "$ingest_pid") - $c0" | bc)
  stop_ingest
  printf -v "r_${mode}_$k" '%s' "$r"
  printf -v "${mode}_$k" '%s' "$(field events_per_s "$r")"
  printf -v "${mode}_cpu_$k" '%s' "$(per_100k "$cpu")"
  printf -v "${mode}_client_$k" '%s' "$(per_100k "$(field client_cpu_s "$r")")"
}
copy_ceiling() { # $1 = round: the rows of the database the last run left
  local k=$1 t0 t1
  echo "bench: COPY ceiling, round $k (load $(cut -d ' ' -f 1 /proc/loadavg))"
  # Every column but arrival, which only the insert trigger may set (db/README.md): the
  # COPY goes through the same trigger as ingest's.
  local cols
  cols=$(psql "$db_url" -AtqXc "SELECT string_agg(quote_ident(attname), ',' ORDER BY attnum)
    FROM pg_attribute WHERE attrelid = 'events'::regclass AND attnum > 0 AND NOT attisdropped
     AND attname <> 'arrival'")
  [ -f "$work/events.csv" ] ||
    psql "$db_url" -qXc "\\copy (SELECT $cols FROM events) TO '$work/events.csv' CSV"
  psql "$db_url" -qXc "TRUNCATE events"
  t0=$(date +%s.%N)
  psql "$db_url" -qXc "\\copy events ($cols) FROM '$work/events.csv' CSV"
  t1=$(date +%s.%N)
  printf -v "ceiling_$k" '%s' "$(echo "$n_sustain / ($t1 - $t0)" | bc)"
}
load_sustain=$(cut -d ' ' -f 1-3 /proc/loadavg)
sustained plain 1; copy_ceiling 1; sustained curve 1
sustained curve 2; copy_ceiling 2; sustained plain 2
load_sustain_end=$(cut -d ' ' -f 1-3 /proc/loadavg)
for k in 1 2; do
  printf -v "ratio_$k" '%s' "$(ratio_of "$(eval echo "\$plain_$k")" "$(eval echo "\$ceiling_$k")")"
  printf -v "curve_ceiling_$k" '%s' "$(ratio_of "$(eval echo "\$curve_$k")" "$(eval echo "\$ceiling_$k")")"
  printf -v "curve_ratio_$k" '%s' "$(ratio_of "$(eval echo "\$curve_$k")" "$(eval echo "\$plain_$k")")"
done
sustain=$(mean_of "$plain_1" "$plain_2")
ceiling=$(mean_of "$ceiling_1" "$ceiling_2")
curve=$(mean_of "$curve_1" "$curve_2")
ratio=$(mean_of "$ratio_1" "$ratio_2" 2)
curve_ceiling=$(mean_of "$curve_ceiling_1" "$curve_ceiling_2" 2)
curve_ratio=$(mean_of "$curve_ratio_1" "$curve_ratio_2" 2)
ingest_cpu_100k=$(mean_of "$plain_cpu_1" "$plain_cpu_2" 3)
curve_cpu_100k=$(mean_of "$curve_cpu_1" "$curve_cpu_2" 3)
client_cpu_100k=$(mean_of "$plain_client_1" "$plain_client_2" 3)
curve_client_cpu_100k=$(mean_of "$curve_client_1" "$curve_client_2" 3)
r_sustain=$(printf '%s\n' "$r_plain_1" "$r_plain_2")
r_curve=$(printf '%s\n' "$r_curve_1" "$r_curve_2")
fi

if want insert; then
# 3. The naive baseline: one INSERT per event, autocommit.
echo "bench: naive INSERT per event ($n_insert events)"
fresh_db
r_insert=$("$bin/cli/fleetcost-bench" insert --pg-url "$db_url" --events "$n_insert")
insert=$(field events_per_s "$r_insert")
fi

if want ingest; then
# 4. Ack latency at offered loads (open loop, small batches as agents send them).
echo "bench: ack latency at 5k and 20k events/s"
fresh_db
start_ingest bench-b
# The first run is the cold start: 20 tenants new to the database, their first events
# on an ingest that is running (its connections warmed at start). Like every run it
# starts its clock once its 16 agents are connected (fleetcost-bench awaits their
# handshakes), so it times ingest's acks, not TCP connects. The runs after it measure
# the steady state.
r_cold=$("$bin/cli/fleetcost-bench" ingest --endpoint "tcp://127.0.0.1:$ingest_port" \
  --events 10000 --rate 5000 --batch 25 --agents 16 --window 64)
r_5k=$("$bin/cli/fleetcost-bench" ingest --endpoint "tcp://127.0.0.1:$ingest_port" \
  --events $((5000 * 10)) --rate 5000 --batch 25 --agents 16 --window 64)
r_20k=$("$bin/cli/fleetcost-bench" ingest --endpoint "tcp://127.0.0.1:$ingest_port" \
  --events $((20000 * 10)) --rate 20000 --batch 100 --agents 16 --window 64)
stop_ingest
cold_ratio=$(ratio_of "$(field ack_ms_p99 "$r_cold")" "$(field ack_ms_p99 "$r_5k")")
fi

if want pipeline; then
# 4b. Emit to Redis total, through ingest and the aggregator (private Redis). Then the
# rest of the system joins them under load: the alerter, fleetcost-otlp (fed OTLP logs)
# and the reporter holding $n_pages all-tenant live pages open. Each service's peak
# resident size (VmHWM) is read at the end.
echo "bench: emit -> Redis latency at 5k and 20k events/s"
fresh_db
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --daemonize yes --pidfile "$work/redis.pid" >/dev/null
for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
start_ingest bench-p
"$bin/cli/fleetcost-bench" ingest --endpoint "tcp://127.0.0.1:$ingest_port" \
  --events 10000 --rate 5000 --batch 25 --agents 16 --window 64 >/dev/null
agg_port=$(free_port)
"$bin/services/aggregator/fleetcost-aggregator" --insecure --pg-url "$db_url" \
  --redis-url "redis://127.0.0.1:$redis_port/0" --ingest-pub "tcp://127.0.0.1:$pub_port" \
  --bind "tcp://127.0.0.1:$agg_port" --metrics-port 0 --republish-s 10 2>"$work/aggregator.log" &
agg_pid=$!
pids+=("$agg_pid")
for _ in $(seq 1 200); do [ -n "$(redis-cli -p "$redis_port" --scan --pattern 'fc:agg:*:ready')" ] && break; sleep 0.05; done
a0=$(cpu_of "$agg_pid"); i0=$(cpu_of "$ingest_pid")
r_p5k=$("$bin/cli/fleetcost-bench" pipeline --endpoint "tcp://127.0.0.1:$ingest_port" \
  --redis-url "redis://127.0.0.1:$redis_port/0" --events 50000 --rate 5000 --batch 25)
r_p20k=$("$bin/cli/fleetcost-bench" pipeline --endpoint "tcp://127.0.0.1:$ingest_port" \
  --redis-url "redis://127.0.0.1:$redis_port/0" --events 200000 --rate 20000 --batch 100)
agg_cpu_100k=$(printf "%.2f" "$(echo "scale=4; ($(cpu_of "$agg_pid") - $a0) * 100000 / 250000" | bc)")
ing_cpu_100k_p=$(printf "%.2f" "$(echo "scale=4; ($(cpu_of "$ingest_pid") - $i0) * 100000 / 250000" | bc)")
"$bin/services/alerter/fleetcost-alerter" --insecure --pg-url "$db_url" \
  --aggregator-pub "tcp://127.0.0.1:$agg_port" --bind "tcp://127.0.0.1:$(free_port)" \
  --metrics-port 0 2>"$work/alerter.log" &
alerter_pid=$!
pids+=("$alerter_pid")
otlp_port=$(free_port)
otlp_token=$("$bin/cli/fleetcost" key create --admin --scope otlp --name bench --pg-url "$db_url" 2>/dev/null)
"$bin/services/otlp/fleetcost-otlp" --insecure --pg-url "$db_url" --http-port "$otlp_port" \
  --ingest-endpoints "tcp://127.0.0.1:$ingest_port" --spool-dir "$work/otlp-spool" \
  --metrics-port 0 2>"$work/otlp.log" &
otlp_pid=$!
pids+=("$otlp_pid")
admin_key=$("$bin/cli/fleetcost" key create --admin --pg-url "$db_url" 2>/dev/null)
reader_url="postgresql://fleetcost_reporter@127.0.0.1:$FLEETCOST_PG_PORT/fc_bench"
start_reporter() { # extra flags: --aggregator-pub for the summaries, none for Postgres alone
  http_port=$(free_port)
  "$bin/services/reporter/fleetcost-reporter" --insecure --http-port "$http_port" \
    --pg-reader-url "$reader_url" --max-connections 128 --max-connections-per-address 64 \
    --max-streams-per-key 64 --max-streams-per-address 64 "$@" 2>>"$work/reporter.log" &
  reporter_pid=$!
  pids+=("$reporter_pid")
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$http_port/healthz" -o /dev/null && break; sleep 0.05; done
  page_pids=()
  for i in $(seq 1 "$n_pages"); do
    curl -sN --max-time 600 -H "Authorization: Bearer $admin_key" \
      "http://127.0.0.1:$http_port/api/v1/stream" >"$work/page.$i" 2>/dev/null &
    page_pids+=($!)
    pids+=($!)
  done
}
stop_reporter() {
  reporter_rss=$(echo "r = $(rss_of "$reporter_pid"); if (r > $reporter_rss) r else $reporter_rss" | bc)
  kill "${page_pids[@]}" 2>/dev/null || true
  kill -TERM "$reporter_pid"; wait "$reporter_pid" 2>/dev/null || true
}
reporter_rss=0
start_reporter --aggregator-pub "tcp://127.0.0.1:$agg_port"
# OTLP load: Claude Code api_request records, 50 a request, for the 20 bench tenants.
python3 - "$work/otlp" 100 50 <<'PY'
import json, os, sys, time
out, files, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
now = int(time.time())
for f in range(files):
    recs = [{"timeUnixNano": str((now - 60) * 10**9 + f * per + r),
             "body": {"stringValue": "claude_code.api_request"},
             "attributes": [{"key": "session.id", "value": {"stringValue": "bench-s%d" % f}},
                            {"key": "model", "value": {"stringValue": "claude-sonnet-4-5"}},
                            {"key": "input_tokens", "value": {"intValue": str(1000 + r)}},
                            {"key": "output_tokens", "value": {"intValue": "200"}},
                            {"key": "request_id", "value": {"stringValue": "req_bench_%d_%d" % (f, r)}}]}
            for r in range(per)]
    body = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "tenant.id", "value": {"stringValue": "bench-%03d" % (f % 20)}}]},
        "scopeLogs": [{"logRecords": recs}]}]}
    with open(os.path.join(out, "%03d.json" % f), "w") as fh:
        json.dump(body, fh)
PY
# The rest of the system under load: 5,000 events/s for 10 s through ingest and the
# OTLP posts, with the pages open; then the live-total windows below.
echo "bench: all services under load (5,000 events/s, OTLP, $n_pages live pages)"
(for f in "$work"/otlp/*.json; do
  curl -s -o /dev/null -H "Content-Type: application/json" -H "Authorization: Bearer $otlp_token" \
    --data-binary "@$f" "http://127.0.0.1:$otlp_port/v1/logs"
  sleep 0.05
done) &
otlp_load_pid=$!
pids+=("$otlp_load_pid")
"$bin/cli/fleetcost-bench" ingest --endpoint "tcp://127.0.0.1:$ingest_port" \
  --events 50000 --rate 5000 --batch 25 --agents 16 --window 64 >/dev/null
wait "$otlp_load_pid" 2>/dev/null || true
otlp_events=$(psql "$db_url" -AtXc "SELECT count(*) FROM events WHERE request_id LIKE 'req_bench_%'")

# 4c. The all-tenant live total: Postgres's work for $n_pages open all-tenant pages over
# a ${live_s}-second window while 1,000 events/s arrive, with the reporter fed by the
# aggregator's summaries (this version), then with the same reporter given no
# aggregator, which reads the total from Postgres every 0.5 s per page (what every
# all-tenant page did before). Measured: the reporter's live reads (transactions), and
# the CPU time of its Postgres backends.
live_window() { # prints "reads cpu_s"
  local r0 c0 pids_pg
  pids_pg=$(psql "$admin" -AtXc "SELECT pid FROM pg_stat_activity WHERE datname = 'fc_bench' AND application_name = 'fleetcost-reporter'")
  pg_cpu() { local t=0 p; for p in $pids_pg; do t=$(echo "$t + $(cpu_of "$p" 2>/dev/null || echo 0)" | bc); done; echo "$t"; }
  r0=$(curl -s "http://127.0.0.1:$http_port/metrics" | awk '$1 == "fleetcost_reporter_live_db_reads_total" {print $2}')
  c0=$(pg_cpu)
  "$bin/cli/fleetcost-bench" ingest --endpoint "tcp://127.0.0.1:$ingest_port" \
    --events $((1000 * live_s)) --rate 1000 --batch 10 --agents 4 --window 64 >/dev/null
  echo "$(($(curl -s "http://127.0.0.1:$http_port/metrics" | awk '$1 == "fleetcost_reporter_live_db_reads_total" {print $2}') - r0)) $(echo "$(pg_cpu) - $c0" | bc)"
}
last_total() { grep -o '"today_nusd":"[0-9]*"' "$1" 2>/dev/null | tail -n 1 | grep -o '[0-9]*' || true; }
echo "bench: all-tenant live total, $n_pages pages, summaries"
read -r live_reads_after live_cpu_after <<<"$(live_window)"
# The figure every page shows equals SQL's sum of the tenants' own todays (awaited: the
# last events reach the pages within about a second).
sql_all=$(psql "$db_url" -AtXc "SELECT coalesce(sum(e.cost_nusd), 0) FROM events e JOIN tenants t USING (tenant_id)
  WHERE (e.event_time AT TIME ZONE t.tz)::date = (now() AT TIME ZONE t.tz)::date")
live_equal=no
for _ in $(seq 1 100); do
  [ "$(last_total "$work/page.1")" = "$sql_all" ] && [ "$(last_total "$work/page.$n_pages")" = "$sql_all" ] && { live_equal=yes; break; }
  sleep 0.1
done
[ "$live_equal" = yes ] ||
  live_equal="no (the pages showed $(last_total "$work/page.1") and $(last_total "$work/page.$n_pages"), SQL $sql_all)"
stop_reporter
echo "bench: all-tenant live total, $n_pages pages, Postgres only"
start_reporter --aggregator-pub ""
read -r live_reads_before live_cpu_before <<<"$(live_window)"
stop_reporter
live_cpu_after=$(printf "%.2f" "$live_cpu_after")
live_cpu_before=$(printf "%.2f" "$live_cpu_before")
# How many times less: Postgres alone divided by the summaries (reads; CPU, with the
# summaries' CPU floored at 0.01 s, the resolution of /proc's clock ticks).
live_reads_ratio=$(printf "%.1f" "$(echo "scale=4; $live_reads_before / ($live_reads_after + ($live_reads_after == 0))" | bc)")
live_cpu_ratio=$(printf "%.0f" "$(echo "scale=4; c = $live_cpu_after; if (c < 0.01) c = 0.01; $live_cpu_before / c" | bc)")

agg_rss=$(rss_of "$agg_pid")
alerter_rss=$(rss_of "$alerter_pid")
otlp_rss=$(rss_of "$otlp_pid")
kill -TERM "$agg_pid" "$alerter_pid" "$otlp_pid"; wait "$agg_pid" "$alerter_pid" "$otlp_pid" 2>/dev/null || true
stop_ingest
redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
fi

if want reporter; then
# 4d. Reports and dashboard on a year of data for 100 tenants (tests/integration); the
# database it seeds is kept for 4e.
echo "bench: reporter on a year of data for 100 tenants"
r_reporter=$(IT_KEEP=1 bash "$root/tests/integration/it_reporter_perf.sh" "$bin/cli/fleetcost" \
  "$bin/services/reporter/fleetcost-reporter" 2>&1 | grep -E '^(ok|FAIL|info)|seeded' || true)
year_url="postgresql://fleetcost@127.0.0.1:$FLEETCOST_PG_PORT/fc_test_reporter_perf"
reporter_rss=$(echo "r = $(sed -n 's/.*peak \([0-9]*\) kB.*/\1/p' <<<"$r_reporter" | head -n 1) / 1024; if (r > ${reporter_rss:-0}) r else ${reporter_rss:-0}" | bc -l)
reporter_rss=$(printf "%.1f" "$reporter_rss")
fi

if want rebuild; then
# 4e. The aggregator's rebuilds from Postgres on the same year (the shard at start and
# after FLUSHALL, one tenant while another streams).
echo "bench: aggregator rebuilds on a year of data for 100 tenants"
year_url=${year_url:-${FLEETCOST_BENCH_YEAR_URL:-}}
r_rebuild=$(bash "$root/tests/integration/perf_aggregator_rebuild.sh" "$bin/cli/fleetcost" \
  "$bin/services/ingest/fleetcost-ingest" "$bin/services/aggregator/fleetcost-aggregator" \
  "$bin/cli/fleetcost-bench" ${year_url:+"$year_url"} 2>&1 | grep -E '^(ok|FAIL|info)|seeded' || true)
agg_rebuild_rss=$(printf "%.1f" "$(echo "$(sed -n 's/.*VmHWM): \([0-9]*\) kB.*/\1/p' <<<"$r_rebuild" | head -n 1) / 1024" | bc -l)")
rebuild_ms=$(sed -n 's/^info: shard rebuild at start (redis empty): \([0-9]*\) ms.*/\1/p' <<<"$r_rebuild")
rebuild_flush_ms=$(sed -n 's/^info: shard rebuild after FLUSHALL: \([0-9]*\) ms.*/\1/p' <<<"$r_rebuild")
fi
[ -n "${year_url:-}" ] && psql "$admin" -qXc "DROP DATABASE IF EXISTS fc_test_reporter_perf WITH (FORCE)" >/dev/null

if want shell; then
# 5. The per-event shell approach: one jq and one sqlite3 call per event.
echo "bench: per-event shell script ($n_shell events)"
sqlite3 "$work/shell.db" "CREATE TABLE events (id TEXT PRIMARY KEY, tenant TEXT, model TEXT, input INTEGER, output INTEGER)"
for i in $(seq 1 "$n_shell"); do
  printf '{"id":"e%d","tenant":"t%d","model":"claude-sonnet-4-5","input":%d,"output":%d}\n' "$i" $((i % 5)) $((i * 7)) $((i * 3))
done >"$work/events.ndjson"
t0=$(date +%s.%N)
while IFS= read -r line; do
  vals=$(jq -r '"\(.id)|\(.tenant)|\(.model)|\(.input)|\(.output)"' <<<"$line")
  IFS='|' read -r id tenant model input output <<<"$vals"
  sqlite3 "$work/shell.db" "INSERT OR IGNORE INTO events VALUES ('$id','$tenant','$model',$input,$output)"
done <"$work/events.ndjson"
t1=$(date +%s.%N)
shell=$(echo "scale=1; $n_shell / ($t1 - $t0)" | bc)
fi

marker='<!-- bench.sh keeps what follows: sections written by hand -->'
kept=$(sed -n "/^$marker\$/,\$p" "$out" 2>/dev/null || true)
if [ "$only" != all ]; then
  # A partial run: its figures, not the document (written from complete runs only).
  echo "bench: sections $only (docs/BENCHMARKS.md unchanged)"
  if want ingest; then
    echo "copy_ceiling_per_s=$ceiling (rounds $ceiling_1 $ceiling_2)"
    echo "ingest_per_s=$sustain ratio_to_ceiling=$ratio (rounds $plain_1 $ratio_1, $plain_2 $ratio_2)"
    echo "ingest_curve_per_s=$curve ratio_to_ceiling=$curve_ceiling ratio_to_plaintext=$curve_ratio (rounds $curve_1 $curve_ceiling_1 $curve_ratio_1, $curve_2 $curve_ceiling_2 $curve_ratio_2)"
    echo "cpu_s_per_100k ingest=$ingest_cpu_100k ingest_curve=$curve_cpu_100k client=$client_cpu_100k client_curve=$curve_client_cpu_100k"
    echo "ingest_peak_rss_mb=$ingest_rss_max load_sustained=$load_sustain..$load_sustain_end"
    echo "cold_ack_ms_p99=$(field ack_ms_p99 "$r_cold") warm_ack_ms_p99=$(field ack_ms_p99 "$r_5k") cold_to_warm=$cold_ratio"
    printf '%s\n' "$r_sustain" "$r_curve" "$r_cold" "$r_5k" "$r_20k"
  fi
  want insert && echo "$r_insert"
  if want pipeline; then
    printf '%s\n' "$r_p5k" "$r_p20k" "otlp_events=$otlp_events"
    echo "live_pages=$n_pages live_window_s=$live_s live_equal_sql=$live_equal"
    echo "live_reads summaries=$live_reads_after postgres=$live_reads_before postgres_over_summaries=$live_reads_ratio"
    echo "live_pg_cpu_s summaries=$live_cpu_after postgres=$live_cpu_before postgres_over_summaries=$live_cpu_ratio"
    echo "peak_rss_mb ingest=$ingest_rss_max aggregator=$agg_rss alerter=$alerter_rss reporter=$reporter_rss otlp=$otlp_rss"
  fi
  want reporter && echo "$r_reporter" && echo "reporter_peak_rss_mb=$reporter_rss"
  want rebuild && echo "$r_rebuild" && echo "aggregator_rebuild_peak_rss_mb=$agg_rebuild_rss"
  want shell && echo "shell_per_s=$shell"
  exit 0
fi

# "what: N ms" lines of the perf tests as table rows with the figure beside its ratio to
# the 200 ms target of the reporter's views.
ms_rows() {
  sed -n 's/^\(ok\|info\|FAIL\):* *\(.*\): \([0-9][0-9]*\) ms.*/\2|\3/p' <<<"$1" |
    while IFS='|' read -r what ms; do
      printf '| %s | %s | %s |\n' "$what" "$ms" "$(ratio_of "$ms" 200)"
    done
}
rss_row() { # name MB
  printf '| %s | %s | %s |\n' "$1" "$2" "$(ratio_of "$2" 50)"
}
other_run=$(sed -n 's/^info: the other tenant meanwhile: //p' <<<"$r_rebuild")
other_max=$(field redis_ms_max "$other_run")
one_ms=$(sed -n 's/^info: one tenant (t042) rebuilt: \([0-9]*\) ms.*/\1/p' <<<"$r_rebuild")
report_today_ms=$(sed -n 's/^info: 30-day report of all 100 tenants (today from raw events): \([0-9]*\) ms.*/\1/p' <<<"$r_reporter")
report_groups_ms=$(sed -n 's/^info: 30-day report of all 100 tenants (today from the open-day groups[^:]*: \([0-9]*\) ms.*/\1/p' <<<"$r_reporter")
load_end=$(cut -d ' ' -f 1-3 /proc/loadavg)
minutes=$(((SECONDS - t_start + 59) / 60))
agg_peak=$(echo "if ($agg_rebuild_rss > $agg_rss) $agg_rebuild_rss else $agg_rss" | bc)
rss_top=$(printf '%s\n' "$ingest_rss_max" "$agg_peak" "$alerter_rss" "$reporter_rss" "$otlp_rss" | sort -n | tail -n 1)

cat >"$out" <<EOF
# Benchmarks

Written by \`$command_line\` on $when, in one run of $minutes minutes. Every figure down
to the line "bench.sh keeps what follows" comes from that one run, on one machine, with
PostgreSQL, Redis, the services and the load generators all co-located: compare figures
side by side (the ratios), not across machines or runs.

Machine: $(nproc) cores ($cpu_model), $mem memory, $(uname -sr), PostgreSQL $pg_version
(synchronous_commit on), from \`scripts/stack.sh\`. The machine was shared: other builds
and test suites ran beside the benchmark (load average $load_start at the start,
$load_end at the end; 1, 5 and 15 minutes), so absolute rates are low and single
figures noisy.

## Summary: each figure beside its ratio

| what | figure | ratio | goal |
| --- | --- | --- | --- |
| ingest, sustained, acked after commit | $sustain events/s | **$ratio×** the COPY ceiling ($ceiling events/s) | close to 1 |
| the same with CurveZMQ | $curve events/s | **$curve_ceiling×** the ceiling, $curve_ratio× plaintext | close to 1 |
| a new tenant's first acks (cold start), p99 | $(field ack_ms_p99 "$r_cold") ms | **$cold_ratio×** the warm p99 ($(field ack_ms_p99 "$r_5k") ms at 5,000 events/s) | ≤ 1 |
| all-tenant 30-day report including today, as a running aggregator leaves it (today from the open-day groups and 500 events since) | $report_groups_ms ms | **$(ratio_of "$report_groups_ms" 200)×** the 200 ms target; $(ratio_of "$report_groups_ms" "$report_today_ms")× the same from raw events ($report_today_ms ms) | ≤ 1 |
| aggregator: shard rebuild, a year of 100 tenants, Redis empty | $rebuild_ms ms | after FLUSHALL $rebuild_flush_ms ms ($(ratio_of "$rebuild_flush_ms" "$rebuild_ms")×) | |
| aggregator: one tenant rebuilt while another streams | $one_ms ms | the other tenant's worst emit -> Redis delay meanwhile, $other_max ms: $(ratio_of "$other_max" "$one_ms")× the rebuild | ≪ 1 |
| all-tenant live total, $n_pages open pages, ${live_s} s at 1,000 events/s: Postgres CPU | $live_cpu_after s (summaries) | **÷ $live_cpu_ratio** against $live_cpu_before s reading Postgres | |
| the same: Postgres reads (transactions) by live streams | $live_reads_after (summaries) | ÷ $live_reads_ratio against $live_reads_before | |
| peak resident size, the largest service | $rss_top MB | $(ratio_of "$rss_top" 50)× 50 MB | < 1 |

## Ingest throughput

Each figure beside its ratio to the ceiling: \`psql \\copy\` of the same rows into the
same (emptied) events table, in the same run. The three ran twice, plaintext, COPY,
CurveZMQ, then CurveZMQ, COPY, plaintext (load average $load_sustain before,
$load_sustain_end after); a figure is the mean of its two runs, a ratio the mean of the
two rounds' ratios.

| what | events/s | × the ceiling | round 1 | round 2 | command |
| --- | --- | --- | --- | --- | --- |
| psql \`\\copy\` of the same rows into the same events table (the ceiling) | $ceiling | 1.00 | $ceiling_1 | $ceiling_2 | \`psql -c "\\copy events FROM 'events.csv' CSV"\` |
| fleetcost-ingest, sustained, acked after commit (16 agents, 500-event batches, 8 in flight each) | $sustain | **$ratio** | $plain_1 (${ratio_1}×) | $plain_2 (${ratio_2}×) | \`$cmd_sustain\` |
| the same with CurveZMQ (ingest in secure mode, agents with an operator certificate) | $curve | **$curve_ceiling** | $curve_1 (${curve_ceiling_1}×) | $curve_2 (${curve_ceiling_2}×) | \`$cmd_sustain --cert operator.cert_secret --server-cert server.cert\` |
| naive: one INSERT per event through libpq, autocommit | $insert | $(ratio_of "$insert" "$ceiling") | | | \`fleetcost-bench insert --events $n_insert\` |
| per-event shell script: one jq and one sqlite3 call per event | $shell | $(printf "%.5f" "$(echo "scale=8; $shell / $ceiling" | bc)") | | | the loop in \`scripts/bench.sh\` |

With CurveZMQ ingest runs at $curve_ratio× its plaintext rate (rounds: $curve_ratio_1×,
$curve_ratio_2×). CPU seconds per 100,000 events: ingest $ingest_cpu_100k plaintext,
$curve_cpu_100k with CurveZMQ; the load generator, while the clock ran, $client_cpu_100k
plaintext, $curve_client_cpu_100k with CurveZMQ (its encryption: on the same 2 cores,
where real agents would not be).

## Ack latency (emit to ack, open loop: latency counts from when each batch was due)

Measured after a 2-second warm-up at 5,000 events/s on the same ingest. The warm-up is
the cold start: a fresh database, 20 tenants new to it, their first events on a running
ingest (every run's clock starts once its 16 agents are connected): p99
$(field ack_ms_p99 "$r_cold") ms (max $(field ack_ms_max "$r_cold") ms), **${cold_ratio}×** the warm p99 at 5,000
events/s below (the goal: within it).

| offered | p50 ms | p99 ms | p99.9 ms | max ms | command |
| --- | --- | --- | --- | --- | --- |
| 5,000 events/s | $(field ack_ms_p50 "$r_5k") | $(field ack_ms_p99 "$r_5k") | $(field ack_ms_p999 "$r_5k") | $(field ack_ms_max "$r_5k") | \`fleetcost-bench ingest --rate 5000 --batch 25 --events 50000\` |
| 20,000 events/s | $(field ack_ms_p50 "$r_20k") | $(field ack_ms_p99 "$r_20k") | $(field ack_ms_p999 "$r_20k") | $(field ack_ms_max "$r_20k") | \`fleetcost-bench ingest --rate 20000 --batch 100 --events 200000\` |

## Emit to Redis total (ingest + aggregator, open loop)

| offered | p50 ms | p99 ms | p99.9 ms | max ms | command |
| --- | --- | --- | --- | --- | --- |
| 5,000 events/s | $(field redis_ms_p50 "$r_p5k") | $(field redis_ms_p99 "$r_p5k") | $(field redis_ms_p999 "$r_p5k") | $(field redis_ms_max "$r_p5k") | \`fleetcost-bench pipeline --rate 5000 --batch 25 --events 50000\` |
| 20,000 events/s | $(field redis_ms_p50 "$r_p20k") | $(field redis_ms_p99 "$r_p20k") | $(field redis_ms_p999 "$r_p20k") | $(field redis_ms_max "$r_p20k") | \`fleetcost-bench pipeline --rate 20000 --batch 100 --events 200000\` |

During these two runs (250,000 events): the aggregator used $agg_cpu_100k CPU seconds per
100,000 events; ingest $ing_cpu_100k_p CPU seconds per 100,000.

## The all-tenant live total

After the pipeline runs (some 300,000 events of today in the database), the reporter
holds $n_pages all-tenant live pages open (\`GET /api/v1/stream\` as admin: every tenant's
own today) while \`fleetcost-bench ingest --rate 1000 --batch 10\` sends ${live_s} s of
events: first fed by the aggregator's summaries (\`--aggregator-pub\`, this version),
then, the same reporter restarted without an aggregator, reading the total from
Postgres every 0.5 s per page, as every all-tenant page did before. Postgres's work is
the CPU time of the reporter's backends (\`pg_stat_activity\`, application
\`fleetcost-reporter\`, \`/proc/<pid>/stat\`) and the reporter's
\`fleetcost_reporter_live_db_reads_total\` (transactions: the tenant-list reads with the
summaries, the total's reads without).

| source of the total | Postgres CPU s | Postgres reads | the pages show SQL's sum of the tenants' own todays |
| --- | --- | --- | --- |
| the aggregator's summaries | $live_cpu_after | $live_reads_after | $live_equal |
| Postgres alone (as before) | $live_cpu_before | $live_reads_before | |
| **before ÷ after** | **$live_cpu_ratio** | **$live_reads_ratio** | |

With Postgres alone the reads queue for the reporter's 8 database connections (each one
sums today's events of every tenant), so the pages get fewer than the 2 reads a second
they ask for; with the summaries the reads left are the shared tenant list (at most
one per 10 s, and one when a page opens).

## Peak resident size of every service

VmHWM from \`/proc/<pid>/status\` at the end of each service's runs in this benchmark:
ingest over every run (throughput, CurveZMQ, latency, pipeline); the aggregator over the
pipeline and over its rebuilds of a year of 100 tenants; the alerter, fleetcost-otlp
($otlp_events OTLP records posted) and the reporter ($n_pages live pages) under the
pipeline's load, the reporter also over the year's reports. The goal: under 50 MB each.

| service | peak MB | × 50 MB |
| --- | --- | --- |
$(rss_row fleetcost-ingest "$ingest_rss_max")
$(rss_row "fleetcost-aggregator (pipeline $agg_rss MB, rebuilds $agg_rebuild_rss MB)" "$agg_peak")
$(rss_row fleetcost-alerter "$alerter_rss")
$(rss_row fleetcost-reporter "$reporter_rss")
$(rss_row fleetcost-otlp "$otlp_rss")

## Reporter: a year of data for 100 tenants

From \`tests/integration/it_reporter_perf.sh\` (medians of 5 requests through the HTTP
API), each figure beside its ratio to the 200 ms target:

| what | ms | × 200 ms |
| --- | --- | --- |
$(ms_rows "$r_reporter")

\`\`\`
$r_reporter
\`\`\`

## Aggregator rebuilds: the same year

From \`tests/integration/perf_aggregator_rebuild.sh\` on the database the reporter test
seeded (the shard rebuilt when the aggregator starts on an empty Redis and after
FLUSHALL; one tenant rebuilt while another streams 40 events/s):

\`\`\`
$r_rebuild
\`\`\`

Raw lines:

\`\`\`
$r_sustain
$r_curve
$r_insert
$r_cold
$r_5k
$r_20k
$r_p5k
$r_p20k
\`\`\`
EOF
# Sections written by hand below the marker (measurements of past changes, each with its
# date and command) are kept.
if [ -n "$kept" ]; then
  printf '\n%s\n' "$kept" >>"$out"
fi
echo "bench: wrote $out"
cat "$out"
