#!/usr/bin/env bash
# The whole pipeline on this machine, secure, with a simulated fleet:
#   ./scripts/demo.sh [--duration SECONDS]     (default: until Ctrl-C)
# Installs what is missing, builds, starts PostgreSQL and Redis (scripts/stack.sh),
# migrates, makes the CurveZMQ certificates (first run only), registers four tenants
# in four time zones with budgets, starts ingest, aggregator, alerter and reporter, and
# one simulated agent host per tenant, each with its own tenant certificate (initech
# spends about five times as much and crosses its daily budget). It prints the live
# totals per tenant and the alerts as they fire, where the dashboard is and where a
# generated report is. Ctrl-C stops everything cleanly; a second run reuses the data,
# the certificates and the admin key.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=0
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=${2:?--duration needs seconds}; shift 2 ;;
    *) echo "usage: $0 [--duration SECONDS]" >&2; exit 2 ;;
  esac
done

./scripts/deps.sh
./scripts/build.sh >/dev/null
# Stop at the end only what this run started.
case "$(./scripts/stack.sh status)" in
  *"postgres: running"*"redis: running"*) stack_started=0 ;;
  *) stack_started=1 ;;
esac
./scripts/stack.sh up
# shellcheck disable=SC1091
. "$root/.fleetcost/env"
bin=${FLEETCOST_BUILD:-$root/build}
fc=$bin/cli/fleetcost
demo=$root/.fleetcost/demo
certs=$demo/certs
mkdir -p "$demo/logs" "$demo/reports" "$demo/spool"
export FLEETCOST_CERT_DIR=$certs
http_port=${FLEETCOST_HTTP_PORT:-8080}

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
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ "$stack_started" -eq 1 ] && ./scripts/stack.sh down
  exit 0
}
trap stop_all INT TERM EXIT
start() { # start <log name> <command...>
  local name=$1
  shift
  "$@" 2>>"$demo/logs/$name.log" >>"$demo/logs/$name.log" &
  pids+=($!)
}

start ingest "$bin/services/ingest/fleetcost-ingest" --ingest-id demo-ingest
start aggregator "$bin/services/aggregator/fleetcost-aggregator"
start alerter "$bin/services/alerter/fleetcost-alerter" --report-url "http://127.0.0.1:$http_port/dashboard"
start reporter "$bin/services/reporter/fleetcost-reporter" --http-port "$http_port"
for t in "${tenants[@]}"; do
  rate=8
  start "fleet-$t" "$fc" simulate --tenants "$t" --hot initech --rate "$rate" --seed "${#t}$RANDOM" \
    --host "host-$t" --spool-dir "$demo/spool/$t" \
    --cert "$certs/host-$t.cert" --server-cert "$certs/server.cert"
done

url="http://127.0.0.1:$http_port/dashboard?key=$admin_key"
cat <<EOF

demo: running. Services log to $demo/logs/.
demo: dashboard  $url
demo: API        curl -H "Authorization: Bearer $admin_key" http://127.0.0.1:$http_port/api/v1/tenants
demo: Ctrl-C stops everything.
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
  psql "$FLEETCOST_PG_URL" -AtXF ' ' -c "SELECT alert_id, tenant_id, state, text FROM cost_alerts
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
    stop_all
  fi
done
