#!/usr/bin/env bash
# perf_reporter_compare: reporters side by side on one seeded database (e.g. the seed of
# it_reporter_perf.sh, kept), each under the same testing clock: the median of 5 requests
# per endpoint for each reporter, requests alternating, then whether their answers are
# byte-identical (generated_at aside). For before/after ratios in one run
# (docs/BENCHMARKS.md). ONLY=1 times just the two all-tenant 30-day views. A reporter
# given as <label>=<fleetcost-reporter>@<database> reads that database (a copy of the
# seed with other migrations, say) instead of the one of <database url>.
#   perf_reporter_compare.sh <fleetcost> <database url> <clock, e.g. 2026-12-06T23:50:00Z>
#                            <label>=<fleetcost-reporter>[@<database>] ...
set -uo pipefail
fc=${1:?usage: perf_reporter_compare.sh <fleetcost> <url> <clock> <label>=<reporter> ...}
url=${2:?} clock=${3:?}
shift 3
# One key per run, written into every database read (a key is its hash: the same key
# opens each).
ADMIN=$("$fc" key create --pg-url "$url" --admin 2>/dev/null)
T042=$("$fc" key create --pg-url "$url" --tenant t042 2>/dev/null)
pids=(); bases=(); labels=()
for spec in "$@"; do
  label=${spec%%=*}; bin=${spec#*=}; db=${url##*/}
  case "$bin" in *@*) db=${bin##*@}; bin=${bin%@*} ;; esac
  reader=${FLEETCOST_PG_READER_URL%/*}/$db
  if [ "$db" != "${url##*/}" ]; then
    psql -X -q "$url" -c "COPY api_keys TO STDOUT" |
      psql -X -q "${url%/*}/$db" -c "CREATE TEMP TABLE k (LIKE api_keys)" -c "COPY k FROM STDIN" \
        -c "INSERT INTO api_keys SELECT * FROM k ON CONFLICT DO NOTHING" >/dev/null
  fi
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$bin" --insecure --aggregator-pub "" --http-port "$port" --pg-reader-url "$reader" --clock "$clock" 2>"${TMPDIR:-/tmp}/perf_reporter_$label.log" &
  pids+=($!); bases+=("http://127.0.0.1:$port"); labels+=("$label")
done
trap 'kill ${pids[@]} 2>/dev/null' EXIT
deadline=$((SECONDS + 60))
for i in "${!bases[@]}"; do
  until curl -sf "${bases[$i]}/healthz" -o /dev/null; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "reporter ${labels[$i]} did not start:" >&2
      tail -n 5 "${TMPDIR:-/tmp}/perf_reporter_${labels[$i]}.log" >&2
      exit 1
    fi
    sleep 0.1
  done
done
median_ms() {
  curl -s -o /dev/null -H "Authorization: Bearer $2" "$1$3"
  for _ in 1 2 3 4 5; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $2" "$1$3"
  done | awk '$1 != 200 { print "ERR" $1; next } { print int($2 * 1000) }' | sort -n | sed -n 3p
}
today=${clock%%T*}
month=$(date -u -d "$(date -u -d "$today" +%Y-%m-01) -1 day" +%F)
from30=$(date -u -d "$today -29 days" +%F)
specs=("$T042|/api/v1/reports?period=monthly&date=$month&format=json|monthly report, one tenant (JSON)"
            "$T042|/dashboard/t042|30-day dashboard, one tenant"
            "$ADMIN|/api/v1/reports?period=monthly&date=$month&format=json|monthly report, all 100 tenants (JSON)"
            "$ADMIN|/dashboard|30-day dashboard, all 100 tenants"
            "$ADMIN|/api/v1/reports?from=$from30&to=$today&format=json|30-day report of all 100 tenants, today included"
            "$ADMIN|/api/v1/costs?group=task&from=$(date -u -d "$today -365 days" +%F)&to=$today|a year of costs by task, all tenants" \
            )
[ -n "${ONLY:-}" ] && specs=("$ADMIN|/dashboard|30-day dashboard, all 100 tenants" "$ADMIN|/api/v1/reports?from=$from30&to=$today&format=json|30-day report of all 100 tenants, today included")
for spec in "${specs[@]}"; do
  IFS='|' read -r key path what <<<"$spec"
  line="$what:"
  for i in "${!bases[@]}"; do line+=" ${labels[$i]} $(median_ms "${bases[$i]}" "$key" "$path") ms"; done
  echo "$line"
done
# Same answers: the reports of every reporter, generated_at aside, against the first's.
for path in "/api/v1/reports?from=$from30&to=$today&format=json" "/api/v1/reports?period=monthly&date=$month&format=json" "/api/v1/costs?group=day&from=$from30&to=$today"; do
  ref=""
  for i in "${!bases[@]}"; do
    body=$(curl -s -H "Authorization: Bearer $ADMIN" "${bases[$i]}$path" | sed -E 's/"generated_at":"[^"]*"//')
    if [ -z "$ref" ]; then ref=$body; else
      if [ "$body" = "$ref" ]; then echo "same answer: ${labels[$i]} = ${labels[0]} for $path (${#body} bytes)"; else echo "DIFFERENT: ${labels[$i]} vs ${labels[0]} for $path"; echo "$ref" > "${TMPDIR:-/tmp}/perf_reporter_ref.json"; echo "$body" > "${TMPDIR:-/tmp}/perf_reporter_body.json"; fi
    fi
  done
done
