#!/usr/bin/env bash
# perf_ingest_ab: sustained ingest (scripts/bench.sh's "ingest sustained": fleetcost-bench
# ingest, 16 agents, batches of 500, window 8) into a fresh database migrated by each of
# two fleetcost binaries (say main's and a branch's: the schema is what differs), runs
# alternating, each printing events/s and the load average beside it. For before/after
# ratios of a change to what a COPY into events costs (docs/BENCHMARKS.md).
#   perf_ingest_ab.sh <events> <rounds> <label>=<fleetcost> <label>=<fleetcost>
set -euo pipefail
n=${1:?usage: perf_ingest_ab.sh <events> <rounds> <label>=<fleetcost> ...}
rounds=${2:?}
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${FLEETCOST_BUILD:-$root/build}
: "${FLEETCOST_PG_ADMIN_URL:?source .fleetcost/env}"
db_url="postgresql://fleetcost@127.0.0.1:$FLEETCOST_PG_PORT/fc_ingest_ab"
work=$(mktemp -d /tmp/fc_ingest_ab.XXXXXX)
ipid=""
trap '[ -n "$ipid" ] && kill "$ipid" 2>/dev/null; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for r in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    label=${spec%%=*} fc=${spec#*=}
    psql "$FLEETCOST_PG_ADMIN_URL" -qXc "DROP DATABASE IF EXISTS fc_ingest_ab WITH (FORCE)" \
      -c "CREATE DATABASE fc_ingest_ab OWNER fleetcost" >/dev/null
    "$fc" migrate --pg-url "$db_url" >/dev/null
    port=$(free_port) pub=$(free_port)
    : >"$work/ingest.log"
    "$bin/services/ingest/fleetcost-ingest" --insecure --pg-url "$db_url" --bind "tcp://127.0.0.1:$port" \
      --pub-bind "tcp://127.0.0.1:$pub" --ingest-id ab --metrics-port 0 2>>"$work/ingest.log" &
    ipid=$!
    deadline=$((SECONDS + 30))
    until grep -q "listening on" "$work/ingest.log"; do
      [ $SECONDS -ge $deadline ] && { echo "ingest did not start" >&2; exit 1; }
      sleep 0.05
    done
    out=$("$bin/cli/fleetcost-bench" ingest --endpoint "tcp://127.0.0.1:$port" --events "$n" \
      --agents 16 --batch 500 --window 8)
    kill -TERM "$ipid"; wait "$ipid" 2>/dev/null || true; ipid=""
    stored=$(psql "$db_url" -AtqXc "SELECT count(*) FROM events")
    echo "round $r $label: $(sed -n 's/.*events_per_s=\([^ ]*\).*/\1/p' <<<" $out") events/s, $stored stored, load $(cut -d ' ' -f 1-3 /proc/loadavg)"
  done
done
psql "$FLEETCOST_PG_ADMIN_URL" -qXc "DROP DATABASE IF EXISTS fc_ingest_ab WITH (FORCE)" >/dev/null
