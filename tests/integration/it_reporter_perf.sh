#!/usr/bin/env bash
# it_reporter_perf: a year of data for 100 tenants, as a running aggregator leaves it:
#  - final daily rollups (39 rows per tenant-day) up to yesterday, and cost_months from
#    them (the migration's triggers);
#  - today's in-day rollups (the total row complete, the breakdown rows cost only, as the
#    aggregator writes them from Redis);
#  - raw events: 300 per tenant-day for the year (about 11 million) and 1200 per
#    tenant-day for the last 6 days.
# Then, through the HTTP API, each answers in under 200 ms (median of 5): a tenant's
# monthly report and 30-day dashboard, the all-tenant monthly report and the all-tenant
# 30-day dashboard; and the reporter's resident memory stays under 50 MB. Timed and
# printed, not asserted: a 30-day all-tenant report (today from raw events, then from the
# open-day groups a refresh leaves and the events since), a year of
# costs by task, and the all-tenant views with the aggregator three days behind.
#   it_reporter_perf.sh <fleetcost> <fleetcost-reporter>
fleetcost=${1:?usage: it_reporter_perf.sh <fleetcost> <fleetcost-reporter>}
reporter=${2:?}
. "$(dirname "$0")/lib.sh"
it_setup reporter_perf

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
start=$SECONDS
q "$IT_URL" - >/dev/null <<'SQL' || it_die "seeding failed"
INSERT INTO tenants (tenant_id, tz)
SELECT 't' || lpad(i::text, 3, '0'),
       (ARRAY['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Tokyo'])[1 + i % 4]
  FROM generate_series(0, 99) i;
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd, input_tokens,
                            output_tokens, cache_read_tokens, events, final)
SELECT t.tenant_id, d::date, v.dim, v.key, 1000003 * (1 + v.n) + extract(doy FROM d)::int,
       1000003 * (1 + v.n) + extract(doy FROM d)::int, 1000 * v.n, 100 * v.n, 5000 * v.n, 10 * v.n, true
  FROM tenants t,
       generate_series(current_date - 365, current_date - 1, interval '1 day') d,
       (SELECT 'total' AS dim, '' AS key, 39 AS n
        UNION ALL SELECT 'agent_type', 'type-' || i, 13 FROM generate_series(0, 2) i
        UNION ALL SELECT 'model', 'model-' || i, 13 FROM generate_series(0, 2) i
        UNION ALL SELECT 'kind', k, 19 FROM unnest(ARRAY['usage', 'runtime']) k
        UNION ALL SELECT 'agent', 'agent-' || i, 4 FROM generate_series(0, 9) i
        UNION ALL SELECT 'task', 'task-' || i, 2 FROM generate_series(0, 19) i) v;
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd, input_tokens,
                            output_tokens, cache_read_tokens, events, final)
SELECT t.tenant_id, current_date, v.dim, v.key, 700001 * (1 + v.n), 700001 * (1 + v.n),
       CASE WHEN v.dim = 'total' THEN 700 * v.n ELSE 0 END,
       CASE WHEN v.dim = 'total' THEN 70 * v.n ELSE 0 END,
       CASE WHEN v.dim = 'total' THEN 3500 * v.n ELSE 0 END,
       CASE WHEN v.dim = 'total' THEN 7 * v.n ELSE 0 END, false
  FROM tenants t,
       (SELECT 'total' AS dim, '' AS key, 39 AS n
        UNION ALL SELECT 'agent_type', 'type-' || i, 13 FROM generate_series(0, 2) i
        UNION ALL SELECT 'model', 'model-' || i, 13 FROM generate_series(0, 2) i
        UNION ALL SELECT 'kind', k, 19 FROM unnest(ARRAY['usage', 'runtime']) k
        UNION ALL SELECT 'agent', 'agent-' || i, 4 FROM generate_series(0, 9) i
        UNION ALL SELECT 'task', 'task-' || i, 2 FROM generate_series(0, 19) i) v;
SELECT fc_ensure_event_partitions(current_date - 366, current_date + 1);
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type, task_id,
                    model, model_family, input_tokens, output_tokens, cache_read_tokens,
                    cost_nusd, cost_kind, ingest_id, seq)
SELECT gen_random_uuid(), now() - interval '6 days' - (i * 31017600.0 / 109500) * interval '1 second',
       t.tenant_id, 'usage', 'agent-' || i % 10, 'type-' || i % 3, 'task-' || i % 20,
       'model-' || i % 3, 'model-' || i % 3, 1000 + i % 1000, 100, 5000, 1000003 + i % 1000,
       'usage', 'year', i
  FROM tenants t, generate_series(0, 107699) i;
INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type, task_id,
                    model, model_family, input_tokens, output_tokens, cache_read_tokens,
                    cost_nusd, cost_kind, ingest_id, seq)
SELECT gen_random_uuid(), now() - (i * 518400.0 / 7000) * interval '1 second', t.tenant_id,
       'usage', 'agent-' || i % 10, 'type-' || i % 3, 'task-' || i % 20, 'model-' || i % 3,
       'model-' || i % 3, 1000 + i, 100, 5000, 1000003 + i, 'usage', 'perf', i
  FROM tenants t, generate_series(0, 6999) i;
ANALYZE tenants, cost_summaries, events;
SQL
echo "seeded in $((SECONDS - start)) s: $(q "$IT_URL" "SELECT count(*) FROM cost_summaries") rollup rows, $(q "$IT_URL" "SELECT count(*) FROM events") events"

ADMIN=$("$fleetcost" key create --pg-url "$IT_URL" --admin 2>/dev/null)
T042=$("$fleetcost" key create --pg-url "$IT_URL" --tenant t042 2>/dev/null)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$reporter" --insecure --aggregator-pub "" --http-port "$port" --pg-reader-url "$IT_READER_URL" 2>"$IT_TMP/reporter.log" &
rpid=$!
trap 'kill $rpid 2>/dev/null; it_cleanup' EXIT
deadline=$((SECONDS + 60))
until curl -sf "$base/healthz" -o /dev/null; do
  [ $SECONDS -ge $deadline ] && it_die "reporter did not start"
  sleep 0.05
done

# median_ms <key> <path>: median wall time of 5 requests (after one warm-up), in ms
median_ms() {
  curl -s -o /dev/null -H "Authorization: Bearer $1" "$base$2"
  for _ in 1 2 3 4 5; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $1" "$base$2"
  done | awk '$1 != 200 { bad = 1 } { print int($2 * 1000) }' | sort -n | sed -n 3p
}
month=$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%F)
for spec in "$T042|/api/v1/reports?period=monthly&date=$month&format=json|monthly report, one tenant (JSON)" \
            "$T042|/api/v1/reports?period=monthly&date=$month&format=html|monthly report, one tenant (HTML)" \
            "$T042|/dashboard/t042|30-day dashboard, one tenant" \
            "$ADMIN|/api/v1/reports?period=monthly&date=$month&format=json&tenant=t007|monthly report as admin" \
            "$ADMIN|/api/v1/reports?period=monthly&date=$month&format=json|monthly report, all 100 tenants (JSON)" \
            "$ADMIN|/api/v1/reports?period=monthly&date=$month&format=html|monthly report, all 100 tenants (HTML)" \
            "$ADMIN|/dashboard|30-day dashboard, all 100 tenants"; do
  IFS='|' read -r key path what <<<"$spec"
  ms=$(median_ms "$key" "$path")
  check "$what: ${ms} ms < 200 ms" test "$ms" -lt 200
done
from30=$(date -u -d '-29 days' +%F)
today=$(date -u +%F)
ms=$(median_ms "$ADMIN" "/api/v1/reports?from=$from30&to=$today&format=json")
echo "info: 30-day report of all 100 tenants (today from raw events): ${ms} ms"
# As a running aggregator leaves it: the open days summed into groups by its refresh
# (fc_open_refresh, every rollup round), and 500 events of today arrived since.
refreshed=$(q "$IT_URL" "SELECT fc_open_refresh()")
check "the refresh summed the open days' events (${refreshed})" test "${refreshed:-0}" -gt 0
q "$IT_URL" "INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type,
               task_id, model, model_family, input_tokens, output_tokens, cache_read_tokens,
               cost_nusd, cost_kind, ingest_id, seq)
             SELECT gen_random_uuid(), now() - i * interval '1 second', t.tenant_id, 'usage',
                    'agent-1', 'type-1', 'task-1', 'model-1', 'model-1', 10, 1, 50, 10003, 'usage',
                    'since', i
               FROM tenants t, generate_series(0, 4) i" >/dev/null || it_die "could not add events"
ms=$(median_ms "$ADMIN" "/api/v1/reports?from=$from30&to=$today&format=json")
echo "info: 30-day report of all 100 tenants (today from the open-day groups and 500 events since): ${ms} ms"
ms=$(median_ms "$ADMIN" "/api/v1/costs?group=task&from=$(date -u -d '-365 days' +%F)&to=$today")
echo "info: a year of costs by task, all tenants, streamed: ${ms} ms"
# The aggregator three days behind: the last three closed days are not final yet (their
# in-day rollups stand), so reports read them from raw events.
q "$IT_URL" "UPDATE cost_summaries SET final = false WHERE day >= current_date - 3" >/dev/null ||
  it_die "could not un-finalise"
check "cost_months lost the un-finalised days" \
  test "$(q "$IT_URL" "SELECT count(*) FROM cost_months WHERE dimension = 'total'
                        AND month = date_trunc('month', current_date - 1)
                        AND days & (1::bigint << (extract(day FROM current_date - 1)::int - 1)) <> 0")" = 0
ms=$(median_ms "$ADMIN" /dashboard)
echo "info: aggregator 3 days behind: 30-day dashboard of all 100 tenants: ${ms} ms"
ms=$(median_ms "$ADMIN" "/api/v1/reports?from=$from30&to=$today&format=json")
echo "info: aggregator 3 days behind: 30-day report of all 100 tenants: ${ms} ms"
# A fleet whose agents and tasks are new every day: 3 of each per tenant-day for the
# year, 219,000 distinct groups in the rollups. The reporter keeps only the top N of
# them while it sums the sorted rows (a version that held every group peaked at 111 MB).
q "$IT_URL" "INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd,
                                         events, final)
             SELECT t.tenant_id, d::date, v.dim, v.dim || '-' || d::date || '-' || i,
                    1000 + i, 1000 + i, 1, true
               FROM tenants t, generate_series(current_date - 365, current_date - 4,
                                               interval '1 day') d,
                    generate_series(0, 2) i, unnest(ARRAY['agent', 'task']) v (dim)" >/dev/null ||
  it_die "could not add the daily agents and tasks"
year=$(date -u -d '-365 days' +%F)
ms=$(median_ms "$ADMIN" "/api/v1/reports?from=$year&to=$today&format=json")
echo "info: a year's report of all 100 tenants with 219,000 more agents and tasks: ${ms} ms"
curl -s -H "Authorization: Bearer $ADMIN" "$base/api/v1/reports?from=$year&to=$today&format=json" \
  -o "$IT_TMP/year.json"
# every task with cost in the window (the rollups' and those of the days read from events),
# and the costliest ten: the seed's own tasks (task-0..19), which cost more than the new ones
expect_eq "the year's report counts every task and shows the top 10" \
  "$(jq -c '[.summary.tasks_with_cost, .agents_with_cost, (.top_tasks | map(select(.task | test("^task-[0-9]+$"))) | length)]' "$IT_TMP/year.json")" \
  "[$(q "$IT_URL" "SELECT count(DISTINCT (tenant_id, key)) FROM cost_summaries WHERE dimension = 'task' AND day >= '$year'"),$(q "$IT_URL" "SELECT count(DISTINCT (tenant_id, key)) FROM cost_summaries WHERE dimension = 'agent' AND day >= '$year'"),10]"
# Taken away again (cost_months keeps zeroed rows unless they go too): bench.sh runs the
# aggregator's rebuilds on this database next.
q "$IT_URL" "DELETE FROM cost_summaries WHERE key ~ '^(agent|task)-[0-9]{4}-';
             DELETE FROM cost_months WHERE key ~ '^(agent|task)-[0-9]{4}-'" >/dev/null ||
  it_die "could not take the daily agents and tasks away"
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$rpid/status")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$rpid/status")
check "reporter memory: RSS ${rss} kB, peak ${hwm} kB < 50 MB" test "$hwm" -lt 51200
kill -TERM $rpid
wait $rpid
it_done
