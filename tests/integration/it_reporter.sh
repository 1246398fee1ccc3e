#!/usr/bin/env bash
# it_reporter: reports, billing, keys, the HTTP API and the dashboard against a real
# Postgres. Data (it_reporter_seed.sql) goes straight into the tables as the owner.
#  - every period x format of `fleetcost report` is produced and parses (JSON valid, CSV
#    with its header and a constant field count, HTML well-formed XML);
#  - report and billing figures equal SQL sums, per tenant-local day, with final rollups
#    taking the place of their day's events;
#  - a tenant key reads only its tenant through the API (403 otherwise), and the reader
#    role sees only the tenant set for its transaction;
#  - bad parameters give 400 with a reason; SQL-injection strings in every parameter are
#    answered 400/403/404 and change nothing;
#  - live totals (SSE) move after new spending; the dashboard renders in headless
#    Chromium with its charts holding data (screenshot kept in the artifact directory);
#  - HTTPS works when given a certificate.
#   it_reporter.sh <fleetcost> <fleetcost-reporter> <artifact dir>
fleetcost=${1:?usage: it_reporter.sh <fleetcost> <fleetcost-reporter> <artifact dir>}
reporter=${2:?}
artifacts=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_setup reporter
mkdir -p "$artifacts"
# Every tool is a precondition: a missing one fails the test, naming its package.
for tool in jq:jq curl:curl python3:python3 chromium:chromium openssl:openssl; do
  command -v "${tool%%:*}" >/dev/null ||
    it_die "${tool%%:*} is missing: Debian package ${tool#*:} (scripts/deps.sh installs it)"
done

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
q "$IT_URL" - <"$here/it_reporter_seed.sql" >/dev/null || it_die "seeding failed"

rep() { "$fleetcost" report --pg-url "$IT_URL" "$@"; }

valid_json() { jq -e '.summary.cost_nusd | type == "number"' "$1" >/dev/null; }
valid_text() { grep -q '^SUMMARY' "$1" && grep -q '^RECOMMENDATIONS' "$1"; }
valid_csv() {
  python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='')))
head = ("section,key,key2,cost_nusd,cost_usd,input_tokens,output_tokens,cache_read_tokens,"
        "cache_write_5m_tokens,cache_write_1h_tokens,events,unpriced_events,detail,billed_nusd,"
        "billed_usd").split(',')
assert rows[0] == head, rows[0]
assert len(rows) >= 3 and all(len(r) == len(head) for r in rows), "ragged rows"
assert rows[2][0] == 'summary'
PY
}
# Well-formed as XML (stricter than an HTML parser), with an <html> root.
valid_html() {
  python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
text = open(sys.argv[1], encoding='utf-8').read()
assert text.startswith('<!DOCTYPE html>')
root = ET.fromstring(text.split('\n', 1)[1])
assert root.tag == 'html'
PY
}

# ---------------------------------------------------------------------------------------
# Every period x format, for one tenant, a non-UTC tenant and all tenants

for who in acme globex all; do
  [ "$who" = all ] && sel=(--all) || sel=(--tenant "$who")
  for period in daily weekly monthly range; do
    if [ "$period" = range ]; then span=(--from 2025-03-01 --to 2025-03-31); else span=(--period "$period" --date 2025-03-12); fi
    for fmt in text csv json html; do
      out="$IT_TMP/$who.$period.$fmt"
      if rep "${sel[@]}" "${span[@]}" --format "$fmt" -o "$out" 2>"$IT_TMP/err"; then
        check "report $who $period $fmt parses" "valid_$fmt" "$out"
      else
        check "report $who $period $fmt: $(cat "$IT_TMP/err")" false
      fi
    done
  done
done

# ---------------------------------------------------------------------------------------
# Figures equal SQL sums

# expected <tenant> <from> <to>: cost over tenant-local days, final rollups in place of
# their day's events.
expected() {
  q "$IT_URL" "
    SELECT (SELECT coalesce(sum(e.cost_nusd), 0) FROM events e JOIN tenants t USING (tenant_id)
             WHERE e.tenant_id = '$1' AND e.cost_kind IS NOT NULL
               AND (e.event_time AT TIME ZONE t.tz)::date BETWEEN '$2' AND '$3'
               AND NOT EXISTS (SELECT 1 FROM cost_summaries s
                                WHERE s.tenant_id = e.tenant_id AND s.dimension = 'total'
                                  AND s.final AND s.day = (e.event_time AT TIME ZONE t.tz)::date))
         + (SELECT coalesce(sum(cost_nusd), 0) FROM cost_summaries
             WHERE tenant_id = '$1' AND dimension = 'total' AND final AND day BETWEEN '$2' AND '$3')"
}
json_cost() { jq -r '.summary.cost_nusd' "$1"; }

for t in acme globex initech; do
  rep --tenant "$t" --period monthly --date 2025-03-12 --format json -o "$IT_TMP/m.$t.json"
  expect_eq "$t: monthly cost equals the SQL sum (tenant-local days)" \
    "$(json_cost "$IT_TMP/m.$t.json")" "$(expected "$t" 2025-03-01 2025-03-31)"
done
# The report splits cost by speed and by provider; each split adds up to the total (globex
# has no final rollups in March: every day comes from events).
expect_eq "globex: cost by speed and by provider, each summing to the total" \
  "$(jq -c '[([.by_speed[].speed] | sort), ([.by_provider[].provider] | sort),
             ([.by_speed[].cost_nusd] | add) == .summary.cost_nusd,
             ([.by_provider[].cost_nusd] | add) == .summary.cost_nusd]' "$IT_TMP/m.globex.json")" \
  '[["","standard"],["","anthropic"],true,true]'
rep --tenant globex --period daily --date 2025-03-06 --format json -o "$IT_TMP/g6.json"
expect_eq "globex (New York) daily: its local day, a non-final rollup ignored" \
  "$(json_cost "$IT_TMP/g6.json")" "$(expected globex 2025-03-06 2025-03-06)"
expect_eq "globex daily: the runtime cost of 23:59 UTC counts on the New York day" \
  "$(q "$IT_URL" "SELECT count(*) FROM events WHERE tenant_id = 'globex' AND cost_kind = 'runtime'
                   AND (event_time AT TIME ZONE 'America/New_York')::date = '2025-03-06'")" 1
rep --tenant acme --period daily --date 2025-03-05 --format json -o "$IT_TMP/a5.json"
expect_eq "acme 2025-03-05: the final rollup is the figure of record" \
  "$(json_cost "$IT_TMP/a5.json")" 777000000001
expect_eq "acme 2025-03-05: read from rollups" "$(jq -c .source "$IT_TMP/a5.json")" \
  '{"rollup_tenant_days":1,"event_days":0}'
rep --tenant acme --from 2024-03-01 --to 2025-03-31 --format json -o "$IT_TMP/year.json"
expect_eq "acme, 13 months from rollups and events" "$(json_cost "$IT_TMP/year.json")" \
  "$(expected acme 2024-03-01 2025-03-31)"
expect_eq "acme, 13 months: 365 rollup days" "$(jq .source.rollup_tenant_days "$IT_TMP/year.json")" 365
sum3=$(( $(json_cost "$IT_TMP/m.acme.json") + $(json_cost "$IT_TMP/m.globex.json") + $(json_cost "$IT_TMP/m.initech.json") ))
rep --all --period monthly --date 2025-03-12 --format json -o "$IT_TMP/m.all.json"
expect_eq "all tenants = the sum of the tenants" "$(json_cost "$IT_TMP/m.all.json")" "$sum3"
expect_eq "all tenants: by_tenant adds up" "$(jq '[.by_tenant[].cost_nusd] | add' "$IT_TMP/m.all.json")" "$sum3"
expect_eq "acme: by_model adds up to the total" \
  "$(jq '[.by_model[].cost_nusd] | add' "$IT_TMP/m.acme.json")" "$(json_cost "$IT_TMP/m.acme.json")"
expect_eq "acme: by_day adds up to the total" \
  "$(jq '[.by_day[].cost_nusd] | add' "$IT_TMP/m.acme.json")" "$(json_cost "$IT_TMP/m.acme.json")"
expect_eq "acme: opus cost equals SQL (events only: the rollup day has none)" \
  "$(jq '.by_model[] | select(.model == "claude-opus-4-1") | .cost_nusd' "$IT_TMP/m.acme.json")" \
  "$(q "$IT_URL" "SELECT sum(cost_nusd) FROM events WHERE tenant_id = 'acme' AND model_family = 'claude-opus-4-1'
                   AND event_time >= '2025-03-01' AND event_time < '2025-04-01' AND event_time::date <> '2025-03-05'")"
expect_eq "acme: unpriced events equal SQL" "$(jq .unpriced.events "$IT_TMP/m.acme.json")" \
  "$(q "$IT_URL" "SELECT count(*) FROM events WHERE tenant_id = 'acme' AND unpriced
                   AND event_time >= '2025-03-01' AND event_time < '2025-04-01' AND event_time::date <> '2025-03-05'")"
expect_eq "acme: cache-read tokens equal SQL" "$(jq .summary.tokens.cache_read "$IT_TMP/m.acme.json")" \
  "$(q "$IT_URL" "SELECT sum(cache_read_tokens) FROM events WHERE tenant_id = 'acme'
                   AND event_time >= '2025-03-01' AND event_time < '2025-04-01' AND event_time::date <> '2025-03-05'")"
expect_eq "acme: reported vs computed over the reporting events" \
  "$(jq -c '.reported_vs_computed | [.reported_nusd - .computed_nusd, .events]' "$IT_TMP/m.acme.json")" \
  "$(q "$IT_URL" "SELECT '[' || sum(reported_cost_nusd - cost_nusd) || ',' || count(*) || ']' FROM events
                   WHERE tenant_id = 'acme' AND reported_cost_nusd IS NOT NULL
                   AND event_time >= '2025-03-01' AND event_time < '2025-04-01' AND event_time::date <> '2025-03-05'")"
expect_eq "acme: top task, its agents" "$(jq -c '.top_tasks[0] | [.task, .agents_n]' "$IT_TMP/m.acme.json")" \
  '["acme-task-0",4]'
expect_eq "acme: recommendations with their figures" \
  "$(jq -c '[.recommendations[].code]' "$IT_TMP/m.acme.json")" \
  '["costly_model_small_requests","idle_agents","task_cost_outliers","unpriced_usage"]'
check "acme: the outlier's recommendation names it and its type's median" \
  grep -q 'acme-task-0 (bugfix), cost \$900.54 against a median of' "$IT_TMP/acme.monthly.text"
# The report keeps only the top N tasks' sums while it reads (issue #19); an outlier
# outside them (acme-task-1 with --top 1) has its figures read again: the same as in the
# full report.
rep --tenant acme --period monthly --date 2025-03-12 --format json --top 1 -o "$IT_TMP/m.acme.top1.json"
expect_eq "acme --top 1: one top task, and an outlier outside it" \
  "$(jq -c '[[.top_tasks[].task], [.task_outliers[].task]]' "$IT_TMP/m.acme.top1.json")" \
  '[["acme-task-0"],["acme-task-0","acme-task-1"]]'
expect_eq "acme --top 1: the outliers' figures are the full report's" \
  "$(jq -c '.task_outliers' "$IT_TMP/m.acme.top1.json")" "$(jq -c '.task_outliers' "$IT_TMP/m.acme.json")"
# A window with more agents and tasks in its rollups than the reporter sums as they come
# (20,000; --held-groups 1 here) reads them again sorted by key: the same reports. More
# agents and tasks for acme's closed days, some on two days, one beside the events' own.
q "$IT_URL" "INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd,
                                         events, final)
             SELECT 'acme', d, v, v || '-held-' || i, 1000 * i + extract(day FROM d)::int,
                    1000 * i, i, true
               FROM unnest(ARRAY[date '2024-06-01', date '2024-06-02', date '2025-03-05']) d,
                    generate_series(1, 3) i, unnest(ARRAY['agent', 'task']) v
             UNION ALL SELECT 'acme', '2024-06-01', 'task', 'acme-task-1', 5, 5, 1, true" >/dev/null ||
  it_die "cannot add agents and tasks"
# (Times blanked: the clock moves on between the two.)
for spec in "acme|monthly|json" "acme|monthly|text" "acme|monthly|html" "*|monthly|json" "acme|range|json"; do
  IFS='|' read -r t p f <<<"$spec"
  dates="--date 2025-03-12"
  [ "$p" = range ] && dates="--from 2024-03-01 --to 2025-03-31"
  # shellcheck disable=SC2086 # $dates is two options
  rep --tenant "$t" --period "$p" $dates --format "$f" --clock 2025-04-02T10:00:00Z -o "$IT_TMP/held.a"
  # shellcheck disable=SC2086
  rep --tenant "$t" --period "$p" $dates --format "$f" --clock 2025-04-02T10:00:00Z --held-groups 1 \
    --verbose -o "$IT_TMP/held.b" 2>"$IT_TMP/held.log"
  check "$t $p $f: agents and tasks read sorted" grep -q 'read sorted' "$IT_TMP/held.log"
  check "$t $p $f: the same report when read sorted" \
    cmp <(sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z//g' "$IT_TMP/held.a") \
        <(sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z//g' "$IT_TMP/held.b")
done
# the events' tasks, then the three added (the costliest of them next after those)
n=$(q "$IT_URL" "SELECT count(DISTINCT task_id) FROM events WHERE tenant_id = 'acme' AND task_id <> ''
                  AND event_time >= '2024-03-01' AND event_time < '2025-04-01'")
expect_eq "acme range: the added tasks counted, in cost order" \
  "$(jq -c '[.summary.tasks_with_cost, ([.top_tasks[].task] | index("task-held-3"))]' "$IT_TMP/held.b")" \
  "[$((n + 3)),$n]"
q "$IT_URL" "DELETE FROM cost_summaries WHERE key LIKE '%-held-%' OR (tenant_id = 'acme' AND day = '2024-06-01' AND key = 'acme-task-1')" >/dev/null
expect_eq "CSV summary row equals JSON" \
  "$(awk -F, '$1 == "summary" { print $4 }' "$IT_TMP/acme.monthly.csv")" "$(json_cost "$IT_TMP/m.acme.json")"
check "HTML shows the exact total" grep -q "\$1680.280295507" "$IT_TMP/acme.monthly.html"
check "HTML escapes a hostile task title" grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$IT_TMP/acme.monthly.html"
check "HTML has no script element" bash -c "! grep -q '<script' '$IT_TMP/acme.monthly.html'"
no_formulas() {
  python3 - "$@" <<'PY'
import csv, sys
for path in sys.argv[1:]:
    for row in csv.reader(open(path, newline='')):
        assert not any(f[:1] in ('=', '+', '@') for f in row), row
PY
}
check "CSV: no field a spreadsheet would run as a formula" no_formulas "$IT_TMP"/*.csv
check "HTML charts hold bars" test "$(grep -o '<rect class="bar"' "$IT_TMP/acme.monthly.html" | wc -l)" -gt 31

"$fleetcost" billing --pg-url "$IT_URL" --month 2025-03 --format csv -o "$IT_TMP/bill.csv" || it_die "billing failed"
"$fleetcost" billing --pg-url "$IT_URL" --month 2025-03 --format json -o "$IT_TMP/bill.json" || it_die "billing failed"
for t in acme globex initech; do
  expect_eq "billing: $t lines add up to its monthly report" \
    "$(awk -F, -v t="$t" '$2 == t { s += $4 } END { printf "%.0f\n", s }' "$IT_TMP/bill.csv")" \
    "$(json_cost "$IT_TMP/m.$t.json")"
done
expect_eq "billing JSON total = CSV lines" "$(jq .total_nusd "$IT_TMP/bill.json")" \
  "$(awk -F, 'NR > 1 { s += $4 } END { printf "%.0f\n", s }' "$IT_TMP/bill.csv")"
expect_eq "billing: one line per tenant and cost kind" "$(($(wc -l <"$IT_TMP/bill.csv") - 1))" 6
expect_fail "billing: a bad month" "month" "$fleetcost" billing --pg-url "$IT_URL" --month 2025-13

expect_fail "report: unknown period" "period" rep --tenant acme --period yearly
expect_fail "report: impossible date" "date" rep --tenant acme --period daily --date 2025-02-30
expect_fail "report: injected tenant" "tenant" rep --tenant "acme' OR '1'='1" --period daily
expect_fail "report: unknown tenant" "no tenant" rep --tenant nosuch --period daily
expect_fail "report: to before from" "before" rep --tenant acme --from 2025-03-02 --to 2025-03-01

# ---------------------------------------------------------------------------------------
# Keys and the HTTP API

newkey() { "$fleetcost" key create --pg-url "$IT_URL" "$@" 2>/dev/null; }
ADMIN=$(newkey --admin --name it-admin)
ACME=$(newkey --tenant acme)
GLOBEX=$(newkey --tenant globex)
REVOKED=$(newkey --tenant acme)
"$fleetcost" key revoke --pg-url "$IT_URL" --id "$(echo "$REVOKED" | cut -d_ -f2)" >/dev/null
check "key format" bash -c "[[ '$ACME' =~ ^fck_[0-9a-f]{12}_[0-9a-f]{64}$ ]]"
expect_eq "only hashes are stored" \
  "$(q "$IT_URL" "SELECT count(*) FROM api_keys WHERE key_hash = encode(sha256('$(echo "$ACME" | cut -d_ -f3)'::bytea), 'hex')")" 1
expect_eq "the secret itself is nowhere in the database" \
  "$(q "$IT_URL" "SELECT count(*) FROM api_keys WHERE key_hash LIKE '%$(echo "$ACME" | cut -d_ -f3)%' OR key_id LIKE '%$(echo "$ACME" | cut -d_ -f3)%'")" 0
expect_eq "key changes are audited" \
  "$(q "$IT_URL" "SELECT count(*) FROM audit_log WHERE action IN ('key.create', 'key.revoke')")" 5
expect_fail "key create needs --tenant or --admin" "exactly one" "$fleetcost" key create --pg-url "$IT_URL"
expect_fail "key create for an unknown tenant" "no tenant" "$fleetcost" key create --pg-url "$IT_URL" --tenant nosuch

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$reporter" --insecure --aggregator-pub "" --http-port "$port" --pg-reader-url "$IT_READER_URL" 2>"$IT_TMP/reporter.log" &
rpid=$!
trap 'kill $rpid 2>/dev/null; it_cleanup' EXIT
wait_for() { # wait_for <seconds> <command...>: polls every 50 ms until it succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
}
wait_for 10 curl -sf "$base/healthz" -o /dev/null || it_die "reporter did not start: $(cat "$IT_TMP/reporter.log")"

# api <key> <path>: prints the status; the body goes to $IT_TMP/body
api() { curl -s --max-time 20 -o "$IT_TMP/body" -w '%{http_code}' ${1:+-H "Authorization: Bearer $1"} "$base$2"; }
reason() { jq -r '.error.message' "$IT_TMP/body"; }

expect_eq "healthz" "$(api "" /healthz)" 200
expect_eq "no key: 401" "$(api "" /api/v1/tenants)" 401
expect_eq "401 is a JSON error" "$(jq -r .error.code "$IT_TMP/body")" unauthorized
expect_eq "unknown key: 401" "$(api "fck_000000000000_$(printf '0%.0s' {1..64})" /api/v1/tenants)" 401
expect_eq "malformed key: 401" "$(api "not-a-key" /api/v1/tenants)" 401
expect_eq "revoked key: 401" "$(api "$REVOKED" /api/v1/tenants)" 401
expect_eq "basic auth instead of bearer: 401" \
  "$(curl -s -o /dev/null -w '%{http_code}' -u "x:$ACME" "$base/api/v1/tenants")" 401
expect_eq "unknown path: 404" "$(api "$ADMIN" /api/v1/nope)" 404
expect_eq "POST: 405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" "$base/api/v1/tenants")" 405

expect_eq "admin lists every tenant" "$(api "$ADMIN" /api/v1/tenants) $(jq -c '[.tenants[].tenant]' "$IT_TMP/body")" \
  '200 ["acme","globex","initech"]'
expect_eq "a tenant key lists only its tenant" "$(api "$ACME" /api/v1/tenants) $(jq -c '[.tenants[].tenant]' "$IT_TMP/body")" \
  '200 ["acme"]'
expect_eq "tenant key, own tenant" "$(api "$ACME" /api/v1/tenants/acme)" 200
expect_eq "tenant key, other tenant: 403" "$(api "$ACME" /api/v1/tenants/globex)" 403
expect_eq "admin, unknown tenant: 404" "$(api "$ADMIN" /api/v1/tenants/nosuch)" 404
for path in "/api/v1/costs?tenant=globex" "/api/v1/reports?tenant=globex" "/api/v1/alerts?tenant=globex" \
            "/api/v1/budgets?tenant=globex" "/api/v1/stream?tenant=globex" "/dashboard/globex" "/dashboard"; do
  expect_eq "acme key on $path: 403" "$(api "$ACME" "$path")" 403
done
expect_eq "acme key: costs by tenant hold acme only" \
  "$(api "$ACME" "/api/v1/costs?group=tenant&from=2025-03-01&to=2025-03-31") $(jq -c '[.rows[].key]' "$IT_TMP/body")" '200 ["acme"]'
expect_eq "acme key: alerts hold acme only" \
  "$(api "$ACME" "/api/v1/alerts?from=2025-03-01&to=2025-03-31") $(jq -c '[.alerts[].tenant] | unique' "$IT_TMP/body")" '200 ["acme"]'
expect_eq "acme key: budgets are acme's and the defaults" \
  "$(api "$ACME" /api/v1/budgets) $(jq -c '[.budgets[].tenant]' "$IT_TMP/body")" '200 ["*","acme"]'
expect_eq "API monthly report equals the CLI's" \
  "$(api "$ACME" "/api/v1/reports?period=monthly&date=2025-03-12&format=json") $(json_cost "$IT_TMP/body")" \
  "200 $(json_cost "$IT_TMP/m.acme.json")"
for fmt in text csv json html; do
  expect_eq "API report, $fmt" "$(api "$GLOBEX" "/api/v1/reports?period=weekly&date=2025-03-12&format=$fmt")" 200
  check "API report, $fmt, parses" "valid_$fmt" "$IT_TMP/body"
done
expect_eq "admin: costs by day over March (streamed) equal SQL" \
  "$(api "$ADMIN" "/api/v1/costs?tenant=initech&group=day&from=2025-03-01&to=2025-03-31") $(jq '[.rows[].cost_nusd] | add' "$IT_TMP/body")" \
  "200 $(expected initech 2025-03-01 2025-03-31)"
# The split by speed and by provider (issue 17): the seed's usage says no speed, so all of
# it is standard; cost events have no speed ('') and no provider; priced usage is the
# provider's of its price version (anthropic), unpriced usage ''. Each split adds up to
# the same total as the split by day.
expect_eq "admin: costs by speed" \
  "$(api "$ADMIN" "/api/v1/costs?tenant=initech&group=speed&from=2025-03-01&to=2025-03-31") $(jq -c '[.rows[].key] | sort' "$IT_TMP/body") $(jq '[.rows[].cost_nusd] | add' "$IT_TMP/body")" \
  "200 [\"\",\"standard\"] $(expected initech 2025-03-01 2025-03-31)"
expect_eq "admin: costs by provider" \
  "$(api "$ADMIN" "/api/v1/costs?tenant=initech&group=provider&from=2025-03-01&to=2025-03-31") $(jq -c '[.rows[].key] | sort' "$IT_TMP/body") $(jq '[.rows[].cost_nusd] | add' "$IT_TMP/body")" \
  "200 [\"\",\"anthropic\"] $(expected initech 2025-03-01 2025-03-31)"
expect_eq "admin: costs by task as CSV" \
  "$(api "$ADMIN" "/api/v1/costs?tenant=acme&group=task&from=2025-03-01&to=2025-03-31&format=csv") $(head -1 "$IT_TMP/body" | cut -d, -f1-3)" \
  "200 task,tenant,cost_nusd"
expect_eq "admin: a year of costs by day" \
  "$(api "$ADMIN" "/api/v1/costs?tenant=acme&group=day&from=2024-03-01&to=2025-03-31") $(jq '.rows | length' "$IT_TMP/body")" \
  "200 396"

# Bad parameters: 400 with a reason naming the parameter.
while IFS='|' read -r path word; do
  expect_eq "400 for $path" "$(api "$ADMIN" "$path")" 400
  check "  ... reason names '$word': $(reason)" grep -q -- "$word" <<<"$(reason)"
done <<'EOF'
/api/v1/reports?period=yearly|period
/api/v1/reports?period=daily&date=2025-02-29|date
/api/v1/reports?format=pdf|format
/api/v1/reports?top=0|top
/api/v1/reports?from=2025-03-02&to=2025-03-01|to
/api/v1/reports?from=2025-03-01|to
/api/v1/reports?date=2025-03-01&from=2025-03-01&to=2025-03-02|date
/api/v1/reports?from=2015-01-01&to=2025-03-01|longer
/api/v1/costs?group=colour|group
/api/v1/costs?from=yesterday&to=2025-03-01|from
/api/v1/costs?format=xml|format
/api/v1/alerts?limit=abc|limit
/api/v1/alerts?state=open|state
/api/v1/tenants?sort=name|unknown parameter
/api/v1/tenants/Not_Valid!|tenant
/api/v1/costs?tenant=ACME|tenant
EOF

# SQL injection in every parameter: never a success, never a server error, nothing changes.
events_before=$(q "$IT_URL" "SELECT count(*) FROM events")
injections=("' OR '1'='1" "acme' OR tenant_id <> 'acme" "x'); DROP TABLE events; --" "*" "acme;--" \
            "2025-03-01' OR 1=1 --" "1 UNION SELECT key_hash FROM api_keys" $'acme\n' "%")
uri() { jq -rn --arg v "$1" '$v | @uri'; }
bad=0
for v in "${injections[@]}"; do
  e=$(uri "$v")
  for path in "/api/v1/tenants/$e" "/api/v1/costs?tenant=$e" "/api/v1/costs?from=$e&to=2025-03-01" \
              "/api/v1/costs?from=2025-03-01&to=$e" "/api/v1/costs?group=$e" "/api/v1/costs?format=$e" \
              "/api/v1/reports?tenant=$e" "/api/v1/reports?period=$e" "/api/v1/reports?date=$e" \
              "/api/v1/reports?from=$e&to=2025-03-01" "/api/v1/reports?format=$e" "/api/v1/reports?top=$e" \
              "/api/v1/alerts?tenant=$e" "/api/v1/alerts?state=$e" "/api/v1/alerts?limit=$e" \
              "/api/v1/budgets?tenant=$e" "/api/v1/stream?tenant=$e" "/api/v1/stream?day=$e" \
              "/dashboard/$e" "/api/v1/costs?$e=1" "/dashboard?range=$e" "/dashboard/-/drill?dim=$e" \
              "/dashboard/-/drill?dim=model&range=$e"; do
    for key in "$ACME" "$ADMIN"; do
      s=$(api "$key" "$path")
      case "$s" in
        400 | 403 | 404) jq -e .error.message "$IT_TMP/body" >/dev/null || { bad=$((bad + 1)); echo "  no JSON error: $path"; } ;;
        *) bad=$((bad + 1)); echo "  $s for $path" ;;
      esac
    done
  done
done
expect_eq "injection strings in every parameter: all 400/403/404 with a JSON error" "$bad" 0
expect_eq "injection strings changed nothing" "$(q "$IT_URL" "SELECT count(*) FROM events")" "$events_before"

# Tenant isolation in SQL itself, under the reader role (row-level security).
reader() { q "$IT_READER_URL" "BEGIN; SELECT set_config('fleetcost.tenant', '$1', true); $2; COMMIT" | sed -n 2p; }
expect_eq "reader as acme sees no globex events" "$(reader acme "SELECT count(*) FROM events WHERE tenant_id = 'globex'")" 0
expect_eq "reader as acme sees no globex rollups" "$(reader acme "SELECT count(*) FROM cost_summaries WHERE tenant_id <> 'acme'")" 0
check "reader as acme sees acme's events" test "$(reader acme "SELECT count(*) FROM events")" -gt 0
expect_eq "reader without a tenant sees nothing" "$(q "$IT_READER_URL" "SELECT count(*) FROM events")" 0
expect_fail "reader cannot read api_keys" "permission denied" q "$IT_READER_URL" "SELECT * FROM api_keys"

# Live totals move after new spending.
curl -s -N --max-time 300 -H "Authorization: Bearer $ACME" "$base/api/v1/stream" >"$IT_TMP/sse" &
sse=$!
check "live totals: a first event" wait_for 5 grep -q '^event: totals' "$IT_TMP/sse"
q "$IT_URL" "INSERT INTO events (event_id, event_time, tenant_id, event_type, cost_nusd, cost_kind, ingest_id, seq)
             VALUES (gen_random_uuid(), now(), 'acme', 'cost', 123456789, 'other', 'it', 999999)" >/dev/null
two_events() { [ "$(grep -c '^event: totals' "$IT_TMP/sse")" -ge 2 ]; }
check "live totals: the new spending arrives within 2 s" wait_for 2 two_events
first=$(grep '^data:' "$IT_TMP/sse" | head -1 | sed 's/^data: //' | jq -r .today_nusd)
last=$(grep '^data:' "$IT_TMP/sse" | tail -1 | sed 's/^data: //' | jq -r .today_nusd)
expect_eq "live totals: moved by exactly the new cost" "$((last - first))" 123456789
kill $sse 2>/dev/null

# Dashboard
expect_eq "dashboard (admin)" "$(api "$ADMIN" /dashboard)" 200
check "dashboard: well-formed" valid_html "$IT_TMP/body"
check "dashboard: charts hold bars" test "$(grep -o '<rect class="bar"' "$IT_TMP/body" | wc -l)" -ge 30
check "dashboard: cost by tenant chart" grep -q 'id="chart-tenant"' "$IT_TMP/body"
check "dashboard: live total" grep -q 'id="total-range"' "$IT_TMP/body"
expect_eq "dashboard (tenant key, own tenant)" "$(api "$ACME" /dashboard/acme)" 200
check "tenant dashboard names no other tenant" bash -c "! grep -q globex '$IT_TMP/body'"
hdrs=$(curl -s -D - -o /dev/null "$base/dashboard/acme?key=$ACME")
check "?key= moves into an HttpOnly cookie and redirects" \
  bash -c "grep -q '^HTTP/1.1 303' <<<\"\$0\" && grep -qi 'set-cookie: fc_key=.*HttpOnly' <<<\"\$0\"" "$hdrs"
expect_eq "dashboard report link works with the cookie" \
  "$(curl -s -o /dev/null -w '%{http_code}' -b "fc_key=$ACME" "$base/dashboard/-/report?tenant=acme&period=monthly&format=html")" 200

profile=$(mktemp -d)
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --user-data-dir="$profile" --window-size=1280,1600)
rm -f "$artifacts/dashboard.png"
timeout 60 "${chrome[@]}" --screenshot="$artifacts/dashboard.png" "$base/dashboard?key=$ADMIN" \
  >"$IT_TMP/chromium.log" 2>&1
check "chromium: screenshot kept in $artifacts/dashboard.png" test "$(stat -c %s "$artifacts/dashboard.png" 2>/dev/null || echo 0)" -gt 20000
timeout 60 "${chrome[@]}" --dump-dom "$base/dashboard?key=$ADMIN" >"$IT_TMP/dom.html" 2>>"$IT_TMP/chromium.log"
check "chromium: the rendered page holds chart bars" test "$(grep -o '<rect class="bar"' "$IT_TMP/dom.html" | wc -l)" -ge 30
# Every chart of the rendered pages (all tenants, and a tenant's) holds data: a bar
# of non-zero height or width.
charts_with_data() {
  python3 - "$1" <<'PY'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
  def __init__(self):
      super().__init__(); self.chart = None; self.data = {}
  def handle_starttag(self, tag, a):
      a = dict(a)
      if tag == 'svg' and a.get('id', '').startswith('chart-'):
          self.chart = a['id']; self.data.setdefault(self.chart, 0)
      elif tag == 'rect' and self.chart and 'bar' in a.get('class', '').split():
          if float(a.get('height', 0)) > 0 and float(a.get('width', 0)) > 0:
              self.data[self.chart] += 1
  def handle_endtag(self, tag):
      if tag == 'svg': self.chart = None
p = P(); p.feed(open(sys.argv[1], encoding='utf-8').read())
print(' '.join(f'{k}:{"data" if v else "EMPTY"}' for k, v in sorted(p.data.items())))
PY
}
expect_eq "chromium: every chart of the all-tenant dashboard has data" "$(charts_with_data "$IT_TMP/dom.html")" \
  "chart-agent-type:data chart-burn:data chart-model:data chart-tenant:data chart-tokens:data chart-trend:data"
rm -f "$artifacts/dashboard-acme.png"
timeout 60 "${chrome[@]}" --screenshot="$artifacts/dashboard-acme.png" "$base/dashboard/acme?key=$ACME" \
  >>"$IT_TMP/chromium.log" 2>&1
check "chromium: tenant page screenshot kept in $artifacts/dashboard-acme.png" \
  test "$(stat -c %s "$artifacts/dashboard-acme.png" 2>/dev/null || echo 0)" -gt 20000
timeout 60 "${chrome[@]}" --dump-dom "$base/dashboard/acme?key=$ACME" >"$IT_TMP/dom-acme.html" 2>>"$IT_TMP/chromium.log"
expect_eq "chromium: every chart of a tenant's dashboard has data" "$(charts_with_data "$IT_TMP/dom-acme.html")" \
  "chart-agent-type:data chart-burn:data chart-model:data chart-tokens:data chart-trend:data"
# Live: while the page is open, new spending of a new model and agent type moves the
# cards and redraws the charts (it_browser.py drives Chromium over the DevTools pipe:
# it waits for the first live update, inserts, then waits for the redrawn figures).
before=$(grep -o 'id="total-today">[^<]*' "$IT_TMP/dom-acme.html" | cut -d'>' -f2)
spend="psql -X -q '$IT_URL' -c \"INSERT INTO events (event_id, event_time, tenant_id, event_type,
         agent_type, model, model_family, input_tokens, cost_nusd, cost_kind, ingest_id, seq)
       VALUES (gen_random_uuid(), now(), 'acme', 'usage', 'live-type', 'live-model', 'live-model',
         777, 2000000000, 'usage', 'it', 999998)\""
python3 "$here/it_browser.py" "$base/dashboard/acme?key=$ACME" \
  "document.getElementById('live-state').textContent.startsWith('updated')" "$spend" \
  "document.documentElement.outerHTML.includes('live-type: \$2.000000000')" 20 >"$IT_TMP/dom-live.html"
after=$(grep -o 'id="total-today">[^<]*' "$IT_TMP/dom-live.html" | cut -d'>' -f2)
check "chromium live: the cost today card moved by \$2.00 ($before -> $after)" \
  python3 -c "import sys; a, b = (float(x.lstrip('\$')) for x in sys.argv[1:]); sys.exit(abs(b - a - 2) > 0.011)" "$before" "$after"
check "chromium live: the charts were redrawn with the new model" \
  grep -q '<title>live-model: \$2.000000000</title>' "$IT_TMP/dom-live.html"
check "chromium live: and the new agent type" grep -q '<title>live-type: \$2.000000000</title>' "$IT_TMP/dom-live.html"
check "chromium live: the tokens chart too" grep -q '<title>input: 6777</title>' "$IT_TMP/dom-live.html"
rm -rf "$profile"

# Metrics
curl -s "$base/metrics" >"$IT_TMP/metrics"
check "metrics: requests counted" grep -q '^fleetcost_reporter_http_requests_total [1-9]' "$IT_TMP/metrics"
check "metrics: auth failures counted" grep -q '^fleetcost_reporter_auth_failures_total [1-9]' "$IT_TMP/metrics"

# HTTPS with a certificate
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
  -keyout "$IT_TMP/key.pem" -out "$IT_TMP/cert.pem" >/dev/null 2>&1
tport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$reporter" --insecure --aggregator-pub "" --http-port "$tport" --pg-reader-url "$IT_READER_URL" --tls-cert "$IT_TMP/cert.pem" \
  --tls-key "$IT_TMP/key.pem" 2>"$IT_TMP/tls.log" &
tpid=$!
check "HTTPS: healthz over TLS" wait_for 10 curl -skf "https://127.0.0.1:$tport/healthz" -o /dev/null
expect_eq "HTTPS: API with a key" \
  "$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ACME" "https://127.0.0.1:$tport/api/v1/tenants")" 200
kill $tpid
wait $tpid 2>/dev/null

# What caching saved: each event at the price version it was priced with and its own
# tier (fc_price_cache_effect), not the latest version of its model. Tenant cachet, one
# UTC day outside the seed; haiku gets a second version (double rates) that day at 12:00.
q "$IT_URL" "SELECT fc_ensure_event_partitions('2025-01-15', '2025-01-15');
  INSERT INTO tenants (tenant_id, tz) VALUES ('cachet', 'UTC');
  INSERT INTO price_versions (model, effective_from, input, output, cache_read, cache_write_5m,
                              cache_write_1h, tier_threshold, source)
  VALUES ('claude-haiku-4-5', '2025-01-15 12:00:00+00', 2000, 10000, 200, 2500, 4000, 0, 'it');
  INSERT INTO events (event_id, event_time, tenant_id, event_type, model, model_family,
                      input_tokens, cache_read_tokens, cache_write_5m_tokens,
                      cache_write_1h_tokens, cost_nusd, cost_kind, price_version, unpriced,
                      price_tiered, ingest_id, seq)
  SELECT gen_random_uuid(), x.t::timestamptz, 'cachet', 'usage', x.m, x.m, x.i, x.cr, x.w5, x.w1,
         1, 'usage', (SELECT version_id FROM price_versions p WHERE p.model = x.m
                       AND p.effective_from <= x.t::timestamptz
                     ORDER BY effective_from DESC LIMIT 1), x.un, x.tier, 'it', 300000 + x.n
    FROM (VALUES (1, '2025-01-15 09:00:00+00', 'claude-sonnet-4-5', 150000, 60000, 0, 0, false, true),
                 (2, '2025-01-15 10:00:00+00', 'claude-sonnet-4-5', 100, 10000, 4000, 1000, false, false),
                 (3, '2025-01-15 11:00:00+00', 'claude-haiku-4-5', 100, 1000, 0, 0, false, false),
                 (4, '2025-01-15 13:00:00+00', 'claude-haiku-4-5', 100, 1000, 0, 0, false, false),
                 (5, '2025-01-15 14:00:00+00', 'mystery-model', 100, 5000, 0, 0, true, NULL))
         AS x(n, t, m, i, cr, w5, w1, un, tier);
  UPDATE events SET price_version = NULL WHERE tenant_id = 'cachet' AND unpriced" >/dev/null ||
  it_die "cannot insert the cache events"
rep --tenant cachet --period daily --date 2025-01-15 --format json -o "$IT_TMP/cachet.json"
# By hand (nano-USD per token, sonnet-4-5 tier rates above 200k prompt tokens):
#   sonnet, tiered:   60000 * (6000 - 600)                     = 324,000,000
#   sonnet, base:     10000 * (3000 - 300)                     =  27,000,000
#   haiku at 11:00:    1000 * (1000 - 100)                     =     900,000
#   haiku at 13:00 (the new version): 1000 * (2000 - 200)      =   1,800,000
#   mystery-model (unpriced): nothing                          = 353,700,000 saved
#   premium, sonnet base: 4000 * (3750 - 3000) + 1000 * (6000 - 3000) = 6,000,000
expect_eq "cache savings: each event at its version and tier" \
  "$(jq -r '"\(.cache.saved_by_reads_nusd) \(.cache.cache_write_premium_nusd)"' "$IT_TMP/cachet.json")" \
  "353700000 6000000"
# A closed day is read from its final rollup, not its events: 2025-01-16 of cachet has a
# final total row and 'price' rows (tokens by price version and tier, as the aggregator
# writes them), and no events at all. Sonnet 4.5 tiered, 10000 cache reads:
#   10000 * (6000 - 600) = 54,000,000 more saved; haiku (base), 2000 1-hour writes:
#   2000 * (2000 - 1000) = 2,000,000 more premium.
q "$IT_URL" "INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd,
                                         cache_read_tokens, cache_write_1h_tokens, events, final)
  SELECT 'cachet', date '2025-01-16', 'total', '', 1, 1, 10000, 2000, 2, true
  UNION ALL
  SELECT 'cachet', '2025-01-16', 'price', v.version_id || ':t', 1, 1, 10000, 0, 1, true
    FROM price_versions v WHERE v.model = 'claude-sonnet-4-5' AND v.source = 'anthropic list prices'
  UNION ALL
  SELECT 'cachet', '2025-01-16', 'price', v.version_id || ':f', 0, 0, 0, 2000, 1, true
    FROM price_versions v WHERE v.model = 'claude-haiku-4-5' AND v.source = 'anthropic list prices'" \
  >/dev/null || it_die "cannot insert the cachet rollups"
rep --tenant cachet --period range --from 2025-01-15 --to 2025-01-16 --format json -o "$IT_TMP/cachet2.json"
expect_eq "cache savings: a closed day from its rollup's price rows" \
  "$(jq -r '"\(.cache.saved_by_reads_nusd) \(.cache.cache_write_premium_nusd)"' "$IT_TMP/cachet2.json")" \
  "407700000 8000000"

kill -TERM $rpid
wait $rpid
expect_eq "reporter exits cleanly on SIGTERM" "$?" 0
it_done
