#!/usr/bin/env bash
# Soak under faults (issue 10): the whole pipeline at a steady load while a fault loop
# kills -9 ingest, aggregator and alerter at random, restarts PostgreSQL and Redis,
# pauses a client and runs `fleetcost retention` (issue 22); at the end it checks that
#   1. every acknowledged event is stored exactly once,
#   2. every Redis day and month total equals its SQL sum,
#   3. no alert notice was sent twice (and every alert was delivered),
#   4. no service was left down.
#
#   scripts/soak.sh [--minutes N] [--bin BUILD_DIR] [--rate R] [--seed S] [--keep]
#
#   --minutes N   how long the load and the faults last (default 2; whole minutes)
#   --bin DIR     the build directory with the binaries (default ./build)
#   --rate R      model requests per second of each simulated tenant host (default 8;
#                 four hosts, one of them 'hot' with twice the usage events)
#   --seed S      seed of the fault loop and the simulators (default: from the clock;
#                 printed, so a run can be repeated)
#   --keep        keep the scratch directory (logs, certificates, spools, the
#                 PostgreSQL cluster is stopped but kept) for a post-mortem
#
# Retention: ingest2 starts idle, with a history of old events (70 days back, outside
# the aggregator's rebuild window) and their seqs in ingest_state. The first fault is a
# retention run that drops every partition of that history; only then does ingest2
# start, and it must continue after its old seqs (not from what is left of its events,
# which would be nothing: the aggregator would then drop its messages as replays).
# Later retention runs (a random fault) restart an ingest right after the drop.
#
# Everything is private, so the soak runs beside the shared stack and the parallel test
# suite: its own PostgreSQL cluster (initdb into a scratch directory, as the postgres
# user when we are root, fsync off), its own redis-server, free ports for every service,
# its own CurveZMQ certificates; the services run in secure mode. The PostgreSQL bin
# directory comes from FLEETCOST_PG_BIN (scripts/stack.sh env) or the newest
# /usr/lib/postgresql/*/bin. Helpers live in tests/soak/. Exit 0 when every check passes,
# 1 when one fails, 2 when the soak could not be set up.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
minutes=2
bin=$root/build
rate=8
seed=$(($(date +%s) % 1000000))
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=${2:?--minutes needs a number}; shift 2 ;;
    --bin) bin=${2:?--bin needs a directory}; shift 2 ;;
    --rate) rate=${2:?--rate needs a number}; shift 2 ;;
    --seed) seed=${2:?--seed needs a number}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--minutes N] [--bin BUILD_DIR] [--rate R] [--seed S] [--keep]" >&2; exit 2 ;;
  esac
done
case "$minutes$rate$seed" in *[!0-9]*) echo "soak: --minutes, --rate and --seed take whole numbers" >&2; exit 2 ;; esac
[ "$minutes" -ge 1 ] && [ "$rate" -ge 1 ] || { echo "soak: --minutes and --rate must be at least 1" >&2; exit 2; }

ts() { date -u +%H:%M:%S; }
say() { echo "soak: $(ts) $*"; }
die() { echo "soak: FATAL: $*" >&2; exit 2; }

bin=$(cd "$bin" 2>/dev/null && pwd) || die "no build directory $bin (build first, or pass --bin)"
fc=$bin/cli/fleetcost
ingest_bin=$bin/services/ingest/fleetcost-ingest
aggregator_bin=$bin/services/aggregator/fleetcost-aggregator
alerter_bin=$bin/services/alerter/fleetcost-alerter
for b in "$fc" "$ingest_bin" "$aggregator_bin" "$alerter_bin"; do
  [ -x "$b" ] || die "$b is missing: build first"
done
pg_bin=${FLEETCOST_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$pg_bin/initdb" ] || die "no PostgreSQL binaries (set FLEETCOST_PG_BIN)"
for t in psql:postgresql-client redis-server:redis-server redis-cli:redis-tools python3:python3 curl:curl; do
  command -v "${t%%:*}" >/dev/null || die "${t%%:*} is missing: Debian package ${t#*:} (scripts/deps.sh installs it)"
done
helpers=$root/tests/soak
# Nothing from a sourced stack env may point a service at the shared stack.
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(FLEETCOST_[A-Z_]*\)=.*/\1/p' | grep -v '^FLEETCOST_PG_BIN$')

# --- scratch, ports -------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/fc-soak.XXXXXX") || die "mktemp"
# PostgreSQL refuses root: as root the cluster belongs to 'postgres', in a directory of
# its own that user can reach whatever TMPDIR is.
pgdir=$(mktemp -d /tmp/fc-soak-pg.XXXXXX) || die "mktemp"
chmod 755 "$pgdir"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  as_pg=(runuser -u postgres --)
  chown postgres: "$pgdir"
fi
mkdir -p "$work/logs" "$work/redis" "$work/spool"
faultlog=$work/logs/faults.log

# Free ports, all taken at once so they differ from each other.
read -r p_pg p_redis p_in1 p_pub1 p_met1 p_in2 p_pub2 p_met2 p_aggpub p_aggmet p_alpub p_hook < <(
  python3 -c 'import socket
ss = [socket.socket() for _ in range(12)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
[ -n "$p_hook" ] || die "could not find free ports"
pg_url=postgresql://fleetcost@127.0.0.1:$p_pg/fleetcost
pg_admin=postgresql://postgres@127.0.0.1:$p_pg/postgres
redis_url=redis://127.0.0.1:$p_redis/0
certs=$work/certs
endpoints=tcp://127.0.0.1:$p_in1,tcp://127.0.0.1:$p_in2

declare -A pid=()     # service name -> pid
declare -A sim_pid=() # tenant -> simulator pid
hook_pid=
services=(ingest1 ingest2 aggregator alerter)

alive() { # alive <pid>: running and not a zombie
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null &&
    [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}

pg_ctl_() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
    -o "-p $p_pg -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" "$@" \
    >>"$work/logs/pg_ctl.log" 2>&1
}
redis_pid() { cat "$work/redis/redis.pid" 2>/dev/null; }
redis_start() {
  redis-server --port "$p_redis" --bind 127.0.0.1 --dir "$work/redis" --daemonize yes \
    --pidfile "$work/redis/redis.pid" --logfile "$work/redis/redis.log" \
    --save "" --appendonly no >/dev/null || return 1
  for _ in $(seq 1 100); do
    redis-cli -p "$p_redis" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
redis_stop() {
  local p
  p=$(redis_pid)
  redis-cli -p "$p_redis" shutdown nosave >/dev/null 2>&1 || { [ -n "$p" ] && kill "$p" 2>/dev/null; }
  for _ in $(seq 1 100); do
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$p" 2>/dev/null
  return 0
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local p all=()
  for p in "${sim_pid[@]}" "${pid[@]}" $hook_pid; do
    alive "$p" && all+=("$p")
  done
  for p in "${all[@]}"; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 1 50); do
    local left=0
    for p in "${all[@]}"; do alive "$p" && left=1; done
    [ $left -eq 0 ] && break
    sleep 0.1
  done
  for p in "${all[@]}"; do alive "$p" && kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ -f "$pgdir/data/postmaster.pid" ]; then pg_ctl_ -m immediate stop; fi
  [ -n "$(redis_pid)" ] && redis_stop
  if [ "$keep" -eq 1 ]; then
    echo "soak: kept $work (PostgreSQL data in $pgdir)"
  else
    rm -rf "$work" "$pgdir"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the stack -------------------------------------------------------------------------
say "seed $seed, $minutes min, scratch $work"
"${as_pg[@]}" "$pg_bin/initdb" -D "$pgdir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
  --no-sync >"$work/logs/initdb.log" 2>&1 || { cat "$work/logs/initdb.log" >&2; die "initdb failed"; }
pg_ctl_ start || { cat "$pgdir/server.log" >&2; die "private postgres did not start"; }
psql -X -q -v ON_ERROR_STOP=1 "$pg_admin" >/dev/null <<'SQL' || die "cannot create the roles"
CREATE ROLE fleetcost LOGIN CREATEROLE;
CREATE ROLE fleetcost_reader NOLOGIN;
CREATE ROLE fleetcost_reporter LOGIN IN ROLE fleetcost_reader;
CREATE DATABASE fleetcost OWNER fleetcost;
SQL
redis_start || die "private redis did not start on $p_redis"
say "postgres on $p_pg, redis on $p_redis"

"$fc" migrate --pg-url "$pg_url" >"$work/logs/migrate.log" 2>&1 || { cat "$work/logs/migrate.log" >&2; die "migrate failed"; }

tenants=(acme globex initech umbrella)
zones=(America/Los_Angeles Europe/Berlin Asia/Kolkata UTC)
hot=initech
"$fc" cert init --cert-dir "$certs" >"$work/logs/cert.log" 2>&1 || die "cert init failed"
# Budgets: a normal tenant spends about $0.02 a request, the hot one about ten times as
# much. The daily budget is about what a normal tenant spends in 40% of the soak and the
# monthly one twice that, each with eight thresholds (up to 120%), so notices keep coming
# while the faults run (the hot tenant crosses its thresholds early on).
daily=$(awk -v m="$minutes" -v r="$rate" 'BEGIN { v = m * 60 * r * 0.010 * 0.8; printf "%.2f", v < 1 ? 1 : v }')
monthly=$(awk -v d="$daily" 'BEGIN { printf "%.2f", 2 * d }')
thresholds=10,25,40,55,70,85,100,120
for i in "${!tenants[@]}"; do
  t=${tenants[$i]}
  "$fc" cert create --cert-dir "$certs" --tenant "$t" --name "host-$t" >>"$work/logs/cert.log" 2>&1 ||
    die "cert create $t failed"
  "$fc" tenant set --pg-url "$pg_url" --tenant "$t" --tz "${zones[$i]}" \
    --webhook-url "http://127.0.0.1:$p_hook/hook/$t" --actor soak >/dev/null 2>>"$work/logs/setup.log" ||
    die "tenant set $t failed"
  "$fc" budget set --pg-url "$pg_url" --tenant "$t" --daily "$daily" --monthly "$monthly" \
    --thresholds "$thresholds" --actor soak >/dev/null 2>>"$work/logs/setup.log" ||
    die "budget set $t failed"
done
say "tenants ${tenants[*]} (hot $hot), budgets \$$daily a day, \$$monthly a month"

# ingest2's old history: 600 events over three days 70-72 days back, seqs 1..120,
# recorded in ingest_state as its last run left it.
history_seq=120
psql -X -q -v ON_ERROR_STOP=1 "$pg_url" >/dev/null 2>>"$work/logs/setup.log" <<SQL || die "cannot seed ingest2's history"
SELECT fc_ensure_event_partitions(current_date - 72, current_date - 70);
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, input_tokens,
                    cost_nusd, cost_kind, ingest_id, seq)
SELECT gen_random_uuid(), current_date - 72 + i * interval '6 minutes', 'umbrella', 'usage',
       'old-agent', i, i * 1000, 'usage', 'soak-ingest2', (i + 4) / 5
  FROM generate_series(1, 600) i;
INSERT INTO ingest_state (ingest_id, last_seq) VALUES ('soak-ingest2', $history_seq);
SQL
say "ingest2 idle with 600 old events (seqs 1..$history_seq) 70-72 days back"

python3 "$helpers/webhook.py" "$p_hook" "$work/webhook.jsonl" 2>>"$work/logs/webhook.log" &
hook_pid=$!

# launch <service>: starts it in the background (secure mode: no --insecure) and
# records its pid; the log is appended across restarts.
launch() {
  local n=$1 log=$work/logs/$1.log
  echo "=== $(ts) soak: start $n" >>"$log"
  case "$n" in
    ingest1 | ingest2)
      local in=$p_in1 pub=$p_pub1 met=$p_met1
      [ "$n" = ingest2 ] && { in=$p_in2; pub=$p_pub2; met=$p_met2; }
      "$ingest_bin" --pg-url "$pg_url" --redis-url "$redis_url" --cert-dir "$certs" \
        --bind "tcp://127.0.0.1:$in" --pub-bind "tcp://127.0.0.1:$pub" --ingest-id "soak-$n" \
        --metrics-port "$met" >>"$log" 2>&1 &
      ;;
    aggregator)
      "$aggregator_bin" --pg-url "$pg_url" --redis-url "$redis_url" --cert-dir "$certs" \
        --ingest-pub "tcp://127.0.0.1:$p_pub1,tcp://127.0.0.1:$p_pub2" \
        --bind "tcp://127.0.0.1:$p_aggpub" --metrics-port "$p_aggmet" >>"$log" 2>&1 &
      ;;
    alerter)
      "$alerter_bin" --pg-url "$pg_url" --redis-url "$redis_url" --cert-dir "$certs" \
        --aggregator-pub "tcp://127.0.0.1:$p_aggpub" --bind "tcp://127.0.0.1:$p_alpub" \
        --attempt-timeout-ms 2000 --eval-interval-ms 5000 --retry-max-ms 5000 \
        --report-url "http://127.0.0.1:$p_hook/report" --metrics-port 0 >>"$log" 2>&1 &
      ;;
  esac
  pid[$n]=$!
}
for s in "${services[@]}"; do [ "$s" = ingest2 ] || launch "$s"; done
for _ in $(seq 1 50); do
  curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$p_met1/metrics" && break
  sleep 0.2
done
for s in "${services[@]}"; do
  [ "$s" = ingest2 ] && continue
  alive "${pid[$s]}" || { tail -n 20 "$work/logs/$s.log" >&2; die "$s did not start"; }
done
alive "$hook_pid" || die "the webhook receiver did not start"
say "services up: ingest1 ${pid[ingest1]}, aggregator ${pid[aggregator]}, alerter ${pid[alerter]} (ingest2 idle)"

# --- load ------------------------------------------------------------------------------
secs=$((minutes * 60))
started=$(date +%s)
for i in "${!tenants[@]}"; do
  t=${tenants[$i]}
  "$fc" simulate --tenants "$t" --hot "$hot" --rate "$rate" --duration "$secs" \
    --seed "$((seed * 10 + i))" --host "host-$t" --spool-dir "$work/spool/$t" \
    --ingest-endpoints "$endpoints" --cert "$certs/host-$t.cert" \
    --server-cert "$certs/server.cert" >"$work/sim-$t.out" 2>"$work/logs/sim-$t.log" &
  sim_pid[$t]=$!
done
say "4 simulators at $rate requests/s each for $secs s"

# --- faults ----------------------------------------------------------------------------
RANDOM=$seed
declare -A nfault=()
died=() # services found dead that the fault loop did not kill
fault() { # fault <kind> <text>
  nfault[$1]=$((${nfault[$1]:-0} + 1))
  echo "$(date -u +%FT%T.%3NZ) $1: $2" >>"$faultlog"
  say "fault: $2"
}
# A service that died by itself is a failure (check 4); it is restarted so the soak
# goes on and the other checks still mean something.
watch_services() {
  local s
  for s in "${services[@]}"; do
    [ -n "${pid[$s]:-}" ] || continue # ingest2 before it starts
    if ! alive "${pid[$s]}"; then
      wait "${pid[$s]}" 2>/dev/null
      local rc=$?
      died+=("$s (pid ${pid[$s]}, exit $rc, at $(ts))")
      echo "$(date -u +%FT%T.%3NZ) DIED: $s pid ${pid[$s]} exit $rc" >>"$faultlog"
      say "FAIL: $s (pid ${pid[$s]}) died by itself (exit $rc): restarting it"
      tail -n 5 "$work/logs/$s.log" | sed 's/^/soak:   /'
      launch "$s"
    fi
  done
}
kill_restart() { # kill -9 a service, leave it down 0-2 s, start it again
  local s=$1 old=${pid[$1]}
  kill -9 "$old" 2>/dev/null
  wait "$old" 2>/dev/null
  sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
  [ $((RANDOM % 2)) -eq 0 ] && sleep 1
  launch "$s"
  fault "kill-$s" "kill -9 $s (pid $old), restarted as pid ${pid[$s]}"
}
retention() { # drops the event partitions older than 7 days (the shortest retention)
  local out rc
  out=$("$fc" retention --pg-url "$pg_url" --keep-days 7 2>&1)
  rc=$?
  echo "$out" >>"$work/logs/retention.log"
  fault retention "fleetcost retention --keep-days 7: $(grep -c '^retention: dropped' <<<"$out") partitions dropped (exit $rc)"
}
end=$((started + secs))
first=1
while [ "$(date +%s)" -lt "$end" ]; do
  sleep $((3 + RANDOM % 5))
  [ "$(date +%s)" -lt "$end" ] || break
  watch_services
  if [ $first -eq 1 ]; then
    # ingest2's history goes, then ingest2 starts (see the header).
    first=0
    retention
    launch ingest2
    say "ingest2 started (pid ${pid[ingest2]}) after its history was dropped"
    continue
  fi
  case $((RANDOM % 7)) in
    0) kill_restart "ingest$((1 + RANDOM % 2))" ;;
    1) kill_restart aggregator ;;
    2) kill_restart alerter ;;
    3)
      t0=$(date +%s.%N)
      if pg_ctl_ -m fast restart; then
        fault postgres "postgres restarted (pg_ctl restart -m fast, $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
      else
        fault postgres "postgres restart FAILED"
        pg_ctl_ start
      fi
      ;;
    4)
      redis_stop
      sleep "0.$((RANDOM % 10))"
      if redis_start; then
        fault redis "redis shut down (nosave) and started empty"
      else
        fault redis "redis restart FAILED"
      fi
      ;;
    5)
      t=${tenants[$((RANDOM % ${#tenants[@]}))]}
      if alive "${sim_pid[$t]}"; then
        d=$((2 + RANDOM % 5))
        kill -STOP "${sim_pid[$t]}"
        fault pause "simulator $t (pid ${sim_pid[$t]}) stopped for $d s"
        sleep "$d"
        kill -CONT "${sim_pid[$t]}"
      fi
      ;;
    6)
      retention
      kill_restart "ingest$((1 + RANDOM % 2))"
      ;;
  esac
done
watch_services
total_faults=0
summary=
for k in $(printf '%s\n' "${!nfault[@]}" | sort); do
  total_faults=$((total_faults + nfault[$k]))
  summary="$summary $k=${nfault[$k]}"
done
say "faults stopped after $(($(date +%s) - started)) s: $total_faults faults:$summary"

# --- drain -----------------------------------------------------------------------------
# The simulators stop at --duration, then wait up to 10 s for their last acks.
deadline=$((end + 60))
for t in "${tenants[@]}"; do
  while alive "${sim_pid[$t]}" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
  if alive "${sim_pid[$t]}"; then
    say "simulator $t did not finish in time: stopping it"
    kill -TERM "${sim_pid[$t]}"
  fi
  wait "${sim_pid[$t]}" 2>/dev/null
  echo "exit $?" >>"$work/sim-$t.out"
done
# What a simulator left in its spool goes out with `fleetcost flush` (a new client of
# the same spool directory).
for t in "${tenants[@]}"; do
  timeout 120 "$fc" flush --spool-dir "$work/spool/$t" --ingest-endpoints "$endpoints" \
    --cert "$certs/host-$t.cert" --server-cert "$certs/server.cert" --timeout-ms 60000 \
    >"$work/flush-$t.out" 2>>"$work/logs/flush-$t.log"
  echo "exit $?" >>"$work/flush-$t.out"
done
say "simulators done, spools flushed"

# The aggregator catches up asynchronously: wait (bounded) until Redis equals SQL in two
# checks in a row.
t0=$(date +%s)
good=0
while [ $(($(date +%s) - t0)) -lt 150 ]; do
  if python3 "$helpers/check_totals.py" "$pg_url" "$p_redis" >/dev/null 2>&1; then
    good=$((good + 1))
    [ $good -ge 2 ] && break
  else
    good=0
  fi
  sleep 2
done
say "aggregator: $([ $good -ge 2 ] && echo "caught up after $(($(date +%s) - t0)) s" || echo "NOT caught up after $(($(date +%s) - t0)) s")"
# The alerter evaluates the final totals, then delivers what is due (bounded).
sleep 6
t0=$(date +%s)
while [ $(($(date +%s) - t0)) -lt 60 ]; do
  n=$(psql -X -q -At "$pg_url" -c "SELECT count(*) FROM cost_alerts
        WHERE delivery_status NOT IN ('delivered', 'none', 'failed')" 2>/dev/null)
  [ "$n" = 0 ] && break
  sleep 1
done
say "alerter: $([ "$n" = 0 ] && echo "nothing left to deliver" || echo "$n notices still undelivered") after $(($(date +%s) - t0)) s"

# --- checks ----------------------------------------------------------------------------
failures=0
checks=0
ok() { checks=$((checks + 1)); echo "ok   $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $*"; }
sql() { psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 "$pg_url" -c "$1"; }

echo "== 1. every acknowledged event stored exactly once"
# Reasoning. A client (libfleetcost) keeps each event in its spool until ingest answers
# for it, and ingest answers only after the commit: OK (stored now) or DUPLICATE
# (already stored: an earlier send was committed but its ack was lost, say because
# ingest was killed after the commit or the client was paused). The client then drops
# the event from its spool and counts it once, as acked or as duplicate; an event
# without an answer stays in the spool and is sent again, by the same client or by the
# next one on that spool (the `fleetcost flush` above), which counts it then. Resending
# is harmless because ingest absorbs duplicates (same event id and time). Each
# simulator sends one tenant's events only, so once the spools are empty (L = 0 after
# the flush) and nothing was rejected (R = 0, rejected events are not stored):
#   rows of tenant T = (A + D of T's simulator) + (stored + duplicate of T's flush).
# Fewer rows: an acknowledged event was lost; more rows: an event was stored twice or
# stored without anyone being told. Rows are also checked unique by (event_id,
# event_time), the key a duplicate is recognised by.
sum_all=0
for t in "${tenants[@]}"; do
  line=$(grep '^simulate: ' "$work/sim-$t.out" | tail -n 1)
  read -r n_req n_ack n_dup n_rej n_left < <(echo "$line" |
    sed -nE 's/^simulate: ([0-9]+) requests, ([0-9]+) events acked, ([0-9]+) duplicate, ([0-9]+) rejected, ([0-9]+) left in the spool.*/\1 \2 \3 \4 \5/p')
  if [ -z "${n_left:-}" ]; then
    bad "$t: no final line from the simulator ($(tr '\n' ' ' <"$work/sim-$t.out"))"
    tail -n 5 "$work/logs/sim-$t.log"
    n_ack=0 n_dup=0 n_rej=0 n_left=0
  fi
  fline=$(grep '^flush: .* delivered' "$work/flush-$t.out" | tail -n 1)
  read -r f_ack f_dup f_rej < <(echo "$fline" |
    sed -nE 's/^flush: [0-9]+ delivered \(([0-9]+) stored, ([0-9]+) duplicate, ([0-9]+) rejected\).*/\1 \2 \3/p')
  if [ -z "${f_rej:-}" ]; then
    bad "$t: no result from fleetcost flush ($(tr '\n' ' ' <"$work/flush-$t.out"))"
    f_ack=0 f_dup=0 f_rej=0
  fi
  rows=$(sql "SELECT count(*) FROM events WHERE tenant_id = '$t'")
  expect=$((n_ack + n_dup + f_ack + f_dup))
  sum_all=$((sum_all + expect))
  echo "     $t: ${n_req:-?} requests; simulator A=$n_ack D=$n_dup R=$n_rej L=$n_left; flush stored=$f_ack duplicate=$f_dup rejected=$f_rej; rows $rows"
  if grep -q 'is empty' "$work/flush-$t.out" && grep -q '^exit 0' "$work/flush-$t.out"; then
    ok "$t: spool empty after the flush ($n_left left by the simulator)"
  else
    bad "$t: spool not empty after the flush: $(grep -v '^exit' "$work/flush-$t.out" | tr '\n' ' ')"
  fi
  [ "$((n_rej + f_rej))" -eq 0 ] && ok "$t: nothing rejected" || bad "$t: $((n_rej + f_rej)) events rejected"
  [ "$rows" = "$expect" ] && ok "$t: rows = acked + duplicate ($rows)" ||
    bad "$t: $rows rows stored, $expect acknowledged (simulator $n_ack + $n_dup, flush $f_ack + $f_dup)"
done
read -r total distinct < <(sql "SELECT count(*), count(DISTINCT (event_id, event_time)) FROM events")
[ "$total" = "$distinct" ] && ok "no event stored twice ($total rows, $distinct distinct)" ||
  bad "$total rows but $distinct distinct (event_id, event_time)"
[ "$total" = "$sum_all" ] && ok "all rows acknowledged: $total = $sum_all" || bad "$total rows, $sum_all acknowledged"
[ "$total" -gt 0 ] && ok "events were stored" || bad "no events stored"
dl=$(sql "SELECT count(*) FROM dead_letters" 2>/dev/null || echo '?')
echo "     dead letters: $dl"
[ "$dl" = 0 ] || sql "SELECT '     dead letter: ' || coalesce(code, '') || ' ' || coalesce(field, '') || ': '
                          || coalesce(reason, '') FROM dead_letters ORDER BY received_at LIMIT 5"

echo "== 2. every Redis day and month total equals its SQL sum"
out=$(python3 "$helpers/check_totals.py" "$pg_url" "$p_redis" --verbose)
rc=$?
echo "$out" | sed 's/^/     /'
[ $rc -eq 0 ] && ok "Redis totals equal SQL sums" || bad "Redis totals differ from SQL sums"
metrics=$(curl -sf --max-time 5 "http://127.0.0.1:$p_aggmet/metrics" | grep -E '^fleetcost_aggregator_(rebuilds|tenant_rebuilds|gaps|seq_regressions|resync_tenants|redis_errors|pg_errors)[_a-z]* ' | tr '\n' ' ')
[ -n "$metrics" ] && echo "     aggregator (last start): $metrics"

read -r old_rows min_seq < <(sql "SELECT (SELECT count(*) FROM events WHERE event_time < current_date - 60),
                                        (SELECT min(seq) FROM events WHERE ingest_id = 'soak-ingest2')")
[ "$old_rows" = 0 ] && ok "retention dropped ingest2's old history" || bad "$old_rows old events left"
[ -n "$min_seq" ] && [ "$min_seq" -gt "$history_seq" ] &&
  ok "ingest2 continued after its dropped history (first seq $min_seq > $history_seq)" ||
  bad "ingest2's first seq is '${min_seq}', not above its history's $history_seq"

echo "== 3. no alert sent twice"
out=$(python3 "$helpers/check_alerts.py" "$work/webhook.jsonl" "$pg_url")
rc=$?
echo "$out" | sed 's/^/     /'
[ $rc -eq 0 ] && ok "every alert notice delivered exactly once" || bad "alert delivery"

echo "== 4. no service left down"
for s in "${services[@]}"; do
  alive "${pid[$s]}" && ok "$s running (pid ${pid[$s]})" || bad "$s is not running"
done
for m in "ingest1 $p_met1" "ingest2 $p_met2" "aggregator $p_aggmet"; do
  set -- $m
  curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$2/metrics" && ok "$1 answers /metrics" ||
    bad "$1 does not answer /metrics on $2"
done
for m in "ingest1 $p_in1" "ingest2 $p_in2" "aggregator $p_aggpub" "alerter $p_alpub"; do
  set -- $m
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null && ok "$1 listens on $2" ||
    bad "$1 does not accept connections on $2"
done
[ "$(psql -X -At "$pg_url" -c 'SELECT 1' 2>/dev/null)" = 1 ] && ok "postgres answers" || bad "postgres is down"
[ "$(redis-cli -p "$p_redis" ping 2>/dev/null)" = PONG ] && ok "redis answers" || bad "redis is down"
alive "$hook_pid" && ok "webhook receiver running" || bad "webhook receiver died"
if [ ${#died[@]} -eq 0 ]; then
  ok "no service died by itself during the soak"
else
  for d in "${died[@]}"; do bad "died by itself: $d"; done
fi

elapsed=$(($(date +%s) - started))
echo "== soak: seed $seed, $minutes min of load, $total_faults faults ($summary ), $total events,"\
  "$(wc -l <"$work/webhook.jsonl" 2>/dev/null || echo 0) notices, $elapsed s from first request to end"
echo "== soak: $checks checks, $failures failed"
if [ "$failures" -gt 0 ]; then
  echo "== faults:"
  sed 's/^/   /' "$faultlog"
  for s in "${services[@]}"; do
    echo "== last lines of $s.log:"
    tail -n 8 "$work/logs/$s.log" | sed 's/^/   /'
  done
  exit 1
fi
exit 0
