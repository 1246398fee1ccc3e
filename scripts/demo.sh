#!/usr/bin/env bash
# The whole pipeline on this machine, secure, with a simulated fleet:
#   ./scripts/demo.sh [--duration SECONDS] [--bin BUILD_DIR]
# Installs what is missing, builds, starts PostgreSQL and Redis (scripts/stack.sh),
# migrates, makes the CurveZMQ certificates (first run only), registers four tenants
# in four time zones with budgets, starts ingest, aggregator, alerter and reporter, and
# one simulated agent host per tenant, each with its own tenant certificate (initech
# spends about five times as much and crosses its daily budget). It prints the live
# totals per tenant and the alerts as they fire, where the dashboard is and where a
# generated report is. Ctrl-C stops everything cleanly; a second run reuses the data,
# the certificates and the admin key.
#   --duration N   stop by itself after N seconds (default: until Ctrl-C)
#   --bin DIR      use the programs already built in DIR: no deps.sh, no build
# Ports (environment): the stack's as in scripts/stack.sh; the dashboard
# FLEETCOST_HTTP_PORT (8080); the services' ZeroMQ and /metrics ports are
# FLEETCOST_DEMO_PORT_BASE (7600) + 1, 2, 3, 4, 11, 13, 14. All listen on 127.0.0.1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=0
bin=
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=${2:?--duration needs seconds}; shift 2 ;;
    --bin) bin=$(cd "${2:?--bin needs a build directory}" && pwd); shift 2 ;;
    *) echo "usage: $0 [--duration SECONDS] [--bin BUILD_DIR]" >&2; exit 2 ;;
  esac
done
die() {
  echo "demo: $*" >&2
  exit 1
}

if [ -z "$bin" ]; then
  ./scripts/deps.sh
  echo "demo: building (./scripts/build.sh; about a minute the first time)"
  ./scripts/build.sh >/dev/null
  bin=${FLEETCOST_BUILD:-$root/build}
fi
state=${FLEETCOST_STATE:-$root/.fleetcost}
http_port=${FLEETCOST_HTTP_PORT:-8080}
base=${FLEETCOST_DEMO_PORT_BASE:-7600}
p_ingest=$((base + 1)) p_events=$((base + 2)) p_sums=$((base + 3)) p_alerts=$((base + 4))
m_ingest=$((base + 11)) m_agg=$((base + 13)) m_alerter=$((base + 14))
# A port in use (a second demo, another clone's) is named now, not found later in a log.
for p in "$http_port" "$p_ingest" "$p_events" "$p_sums" "$p_alerts" "$m_ingest" "$m_agg" "$m_alerter"; do
  line=$(ss -ltnpH "sport = :$p" 2>/dev/null | head -n 1)
  [ -z "$line" ] || die "port $p is in use ($(grep -o 'users:.*' <<<"$line" || echo 'another process')):" \
    "stop that, or choose FLEETCOST_HTTP_PORT (dashboard, now $http_port) and" \
    "FLEETCOST_DEMO_PORT_BASE (services, now $base)"
done

# Stop at the end only what this run started.
case "$(./scripts/stack.sh status)" in
  *"postgres: running"*"redis: running"*) stack_started=0 ;;
  *) stack_started=1 ;;
esac
./scripts/stack.sh up
# shellcheck disable=SC1091
. "$state/env"
fc=$bin/cli/fleetcost
[ -x "$fc" ] || die "no $fc (build first, or pass --bin)"
demo=$state/demo
certs=$demo/certs
mkdir -p "$demo/logs" "$demo/reports" "$demo/spool"
export FLEETCOST_CERT_DIR=$certs

"$fc" migrate
tenants=(acme globex initech umbrella)
zones=(America/Los_Angeles Europe/Berlin Asia/Kolkata UTC)
names=("Acme Corp" "Globex" "Initech" "Umbrella")
"$fc" cert init --cert-dir "$certs" >/dev/null
for i in "${!tenants[@]}"; do
  t=${tenants[$i]}
  [ -f "$certs/host-$t.cert" ] || "$fc" cert create --cert-dir "$certs" --tenant "$t" --name "host-$t" >/dev/null
  "$fc" tenant set --tenant "$t" --tz "${zones[$i]}" --name "${names[$i]}" --actor demo >/dev/null
done
"$fc" budget set --tenant initech --daily 40 --monthly 600 --actor demo >/dev/null
"$fc" budget set --default --daily 500 --monthly 8000 --actor demo >/dev/null
if [ ! -s "$demo/admin.key" ]; then
  "$fc" key create --admin --name demo-admin | grep -o 'fck_[0-9a-f_]*' | head -n 1 >"$demo/admin.key"
  chmod 600 "$demo/admin.key"
fi
admin_key=$(cat "$demo/admin.key")

pids=()
stop_all() { # stop_all <exit status>: Ctrl-C and --duration end well, a failure does not
  local rc=${1:-0}
  trap - INT TERM EXIT
  echo
  echo "demo: stopping"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$stack_started" -eq 1 ]; then ./scripts/stack.sh down; fi
  exit "$rc"
}
trap 'stop_all 0' INT TERM
trap 'stop_all $?' EXIT
start() { # start <log name> <command...>
  local name=$1
  shift
  "$@" 2>>"$demo/logs/$name.log" >>"$demo/logs/$name.log" &
  pids+=($!)
}

start ingest "$bin/services/ingest/fleetcost-ingest" --ingest-id demo-ingest \
  --bind "tcp://127.0.0.1:$p_ingest" --pub-bind "tcp://127.0.0.1:$p_events" --metrics-port "$m_ingest"
start aggregator "$bin/services/aggregator/fleetcost-aggregator" \
  --ingest-pub "tcp://127.0.0.1:$p_events" --bind "tcp://127.0.0.1:$p_sums" --metrics-port "$m_agg"
start alerter "$bin/services/alerter/fleetcost-alerter" --report-url "http://127.0.0.1:$http_port/dashboard" \
  --aggregator-pub "tcp://127.0.0.1:$p_sums" --bind "tcp://127.0.0.1:$p_alerts" --metrics-port "$m_alerter"
start reporter "$bin/services/reporter/fleetcost-reporter" --http-port "$http_port" \
  --aggregator-pub "tcp://127.0.0.1:$p_sums"
for t in "${tenants[@]}"; do
  rate=8
  start "fleet-$t" "$fc" simulate --tenants "$t" --hot initech --rate "$rate" --seed "${#t}$RANDOM" \
    --host "host-$t" --spool-dir "$demo/spool/$t" --ingest-endpoints "tcp://127.0.0.1:$p_ingest" \
    --cert "$certs/host-$t.cert" --server-cert "$certs/server.cert"
done

# The URL is printed once it answers.
deadline=$((SECONDS + 30))
until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$http_port/healthz"; do
  [ $SECONDS -lt $deadline ] || die "the reporter did not answer on port $http_port in 30 s: see $demo/logs/reporter.log"
  sleep 0.2
done

url="http://127.0.0.1:$http_port/dashboard?key=$admin_key"
cat <<EOF

demo: running: ingest, aggregator, alerter, reporter, ${#tenants[@]} simulated agent hosts (${tenants[*]}) -- Ctrl-C stops them all.
demo: dashboard  $url
demo: API        curl -H "Authorization: Bearer $admin_key" http://127.0.0.1:$http_port/api/v1/tenants
demo: logs       $demo/logs/
EOF
# The tenant pages (the admin key reads them too; each tenant counts its own days).
for t in "${tenants[@]}"; do
  echo "demo: dashboard  $t: http://127.0.0.1:$http_port/dashboard/$t?key=$admin_key"
done

usd() { awk -v n="${1:-0}" 'BEGIN { printf "%.2f", n / 1e9 }'; }
started=$(date +%s)
last_alert=0
report_done=0
while true; do
  sleep 5
  now=$(date +%s)
  echo
  echo "demo: $(date -u +%H:%M:%SZ)  tenant      today (local)        month to date   events today"
  for t in "${tenants[@]}"; do
    tz=$(psql "$FLEETCOST_PG_URL" -AtXc "SELECT tz FROM tenants WHERE tenant_id = '$t'")
    day=$(TZ=$tz date +%F)
    month=$(TZ=$tz date +%Y-%m)
    d=$(redis-cli -p "$FLEETCOST_REDIS_PORT" HGET "fc:{$t}:day:$day" cost_nusd)
    m=$(redis-cli -p "$FLEETCOST_REDIS_PORT" HGET "fc:{$t}:month:$month" cost_nusd)
    e=$(redis-cli -p "$FLEETCOST_REDIS_PORT" HGET "fc:{$t}:day:$day" events)
    printf "demo:            %-10s  \$%9s (%s)  \$%12s   %s\n" "$t" "$(usd "$d")" "$day" "$(usd "$m")" "${e:-0}"
  done
  # Alert texts quote agent ids and agent types (tenant text): control characters (ESC,
  # CR/LF, C1) become '?' before they reach the terminal.
  psql "$FLEETCOST_PG_URL" -AtXF ' ' -c "SELECT alert_id, tenant_id, state,
      regexp_replace(text, '[\x01-\x1f\x7f-\x9f]', '?', 'g') FROM cost_alerts
      WHERE alert_id > $last_alert ORDER BY alert_id" | while read -r id tenant state text; do
    echo "demo: ALERT #$id $tenant $state: $text"
  done
  last_alert=$(psql "$FLEETCOST_PG_URL" -AtXc "SELECT coalesce(max(alert_id), $last_alert) FROM cost_alerts")
  if [ $report_done -eq 0 ] && [ $((now - started)) -ge 20 ]; then
    out=$demo/reports/initech-today.html
    if "$fc" report --tenant initech --period daily --date "$(TZ=Asia/Kolkata date +%F)" \
         --format html -o "$out" >/dev/null 2>>"$demo/logs/report.log"; then
      echo "demo: report written: $out"
      report_done=1
    fi
  fi
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "demo: a process exited (pid $p): see $demo/logs/"; }
  done
  if [ "$duration" -gt 0 ] && [ $((now - started)) -ge "$duration" ]; then
    stop_all 0
  fi
done
