#!/usr/bin/env bash
# it_reporter_tz: every all-tenant view is the union of each tenant's own window in its own
# time zone, and every all-tenant figure equals the sum of the tenant figures, in
# nano-USD, whatever the tenants' local dates.
# Four tenants (UTC, Pacific/Auckland +13, Asia/Kolkata +5:30, America/Los_Angeles -8;
# it_reporter_tz_seed.sql); the reporter and `fleetcost report` run with the testing
# clock at 2026-12-06 20:08 UTC, when Auckland and Kolkata are on 2026-12-07 already.
#  - each tenant's last 30 days and today equal SQL over its own local dates;
#  - the dashboard, every report period, every cost group, the alerts, the live stream,
#    `fleetcost report --all` and billing: all-tenant = sum of tenants
#    (it_reporter_tz_check.py compares every figure, key by key);
#  - Auckland's alerts of its local today are on the all-tenant dashboard, alerts from
#    before a tenant's own window are not.
#   it_reporter_tz.sh <fleetcost> <fleetcost-reporter>
fleetcost=${1:?usage: it_reporter_tz.sh <fleetcost> <fleetcost-reporter>}
reporter=${2:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_setup reporter_tz
CLOCK=2026-12-06T20:08:00Z
TENANTS=(akl kol lax utc0)
sumcheck() { python3 "$here/it_reporter_tz_check.py" "$@"; }
# per <prefix>: the tenant files $IT_TMP/<prefix>.<tenant>.json
per() { printf "$IT_TMP/$1.%s.json " "${TENANTS[@]}"; }

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
q "$IT_URL" - <"$here/it_reporter_tz_seed.sql" >/dev/null || it_die "seeding failed"

# truth <tenant> <first day offset> <last day offset>: SQL sum of the tenant's events over
# its local dates today+first .. today+last, its today taken at the clock in its zone.
truth() {
  q "$IT_URL" "SELECT coalesce(sum(e.cost_nusd), 0) FROM events e JOIN tenants t USING (tenant_id)
                WHERE e.tenant_id = '$1' AND e.cost_kind IS NOT NULL
                  AND (e.event_time AT TIME ZONE t.tz)::date
                      BETWEEN (timestamptz '$CLOCK' AT TIME ZONE t.tz)::date + $2
                          AND (timestamptz '$CLOCK' AT TIME ZONE t.tz)::date + $3"
}
expect_eq "the seed: Auckland and Kolkata are on 2026-12-07, UTC and Los Angeles on 2026-12-06" \
  "$(q "$IT_URL" "SELECT string_agg(tenant_id || '=' || (timestamptz '$CLOCK' AT TIME ZONE tz)::date, ' ' ORDER BY tenant_id) FROM tenants")" \
  "akl=2026-12-07 kol=2026-12-07 lax=2026-12-06 utc0=2026-12-06"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$reporter" --insecure --aggregator-pub "" --http-port "$port" --pg-reader-url "$IT_READER_URL" \
  --clock "$CLOCK" 2>"$IT_TMP/reporter.log" &
rpid=$!
trap 'kill $rpid 2>/dev/null; it_cleanup' EXIT
deadline=$((SECONDS + 60))
until curl -sf "$base/healthz" -o /dev/null; do
  [ $SECONDS -ge $deadline ] && it_die "reporter did not start: $(cat "$IT_TMP/reporter.log")"
  sleep 0.05
done
ADMIN=$("$fleetcost" key create --pg-url "$IT_URL" --admin --name it 2>/dev/null)
get() { curl -s --max-time 30 -o "$2" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" "$base$1"; }
attr() { grep -o "$1=\"[^\"]*\"" "$2" | head -1 | cut -d'"' -f2; }

# ---------------------------------------------------------------------------------------
# Dashboards: each tenant's own 30 days and today, and the all-tenant page their sum

sum_total=0 sum_today=0 sum_key=0
for t in "${TENANTS[@]}"; do
  expect_eq "dashboard $t" "$(get "/dashboard/$t" "$IT_TMP/dash.$t.html")" 200
  total=$(attr data-total-nusd "$IT_TMP/dash.$t.html")
  today=$(attr data-today-nusd "$IT_TMP/dash.$t.html")
  expect_eq "dashboard $t: 30-day cost = SQL over its own local days" "$total" "$(truth "$t" -29 0)"
  expect_eq "dashboard $t: today = SQL over its own local today" "$today" "$(truth "$t" 0 0)"
  sum_total=$((sum_total + total)) sum_today=$((sum_today + today))
  sum_key=$((sum_key + $(attr data-today-key "$IT_TMP/dash.$t.html")))
done
expect_eq "dashboard (all)" "$(get /dashboard "$IT_TMP/dash.all.html")" 200
expect_eq "dashboard (all): 30-day cost = sum of the tenant dashboards" \
  "$(attr data-total-nusd "$IT_TMP/dash.all.html")" "$sum_total"
expect_eq "dashboard (all): cost today = sum of each tenant's own today" \
  "$(attr data-today-nusd "$IT_TMP/dash.all.html")" "$sum_today"
expect_eq "dashboard (all): the live key is the tenants' together" \
  "$(attr data-today-key "$IT_TMP/dash.all.html")" "$sum_key"
check "dashboard (all): Auckland is in the cost by tenant" grep -q '<td>akl</td>' "$IT_TMP/dash.all.html"
expect_eq "dashboard (all): Auckland's three alerts of its 2026-12-07 are shown" \
  "$(grep -o 'akl[a-z ]* [0-9]*% of its daily budget\|akl over its daily budget' "$IT_TMP/dash.all.html" | sort -u | wc -l)" 3
check "dashboard (all): an alert from before a tenant's own window is not" \
  bash -c "! grep -q 'before its window' '$IT_TMP/dash.all.html'"
check "dashboard (all): says whose days it counts" grep -q "own days and today, in its time zone" "$IT_TMP/dash.all.html"
check "dashboard (all): lists Auckland's own window" \
  grep -q '2026-11-08 to 2026-12-07: akl (Pacific/Auckland), kol (Asia/Kolkata)' "$IT_TMP/dash.all.html"

# ---------------------------------------------------------------------------------------
# Reports over the API: every period, all-tenant = sum of tenants, figure by figure

while read -r label query; do
  for t in "${TENANTS[@]}"; do
    check "report $label ($t): 200" test "$(get "/api/v1/reports?format=json&top=100&tenant=$t$query" "$IT_TMP/r.$t.json")" = 200
  done
  s=$(get "/api/v1/reports?format=json&top=100$query" "$IT_TMP/r.all.json")
  expect_eq "report $label (all): 200" "$s" 200
  out=$(sumcheck report "$IT_TMP/r.all.json" $(per r) 2>&1)
  check "report $label: all-tenant = sum of tenants$(tail -1 <<<"$out")" grep -q ' 0 differ' <<<"$out"
  grep -v ' 0 differ' <<<"$out" | head -5
done <<'EOF2'
default
daily &period=daily
7d &period=7d
30d &period=30d
90d &period=90d
mtd &period=mtd
weekly &period=weekly
monthly &period=monthly
date &period=daily&date=2026-12-06
range &from=2026-11-01&to=2026-12-07
EOF2
get "/api/v1/reports?format=json&period=30d" "$IT_TMP/r30.json" >/dev/null
expect_eq "report 30d (all): each tenant's own window" \
  "$(jq -c '[.per_tenant_windows, (.windows[] | .tenant + ":" + .from + ".." + .to)]' "$IT_TMP/r30.json")" \
  '[true,"akl:2026-11-08..2026-12-07","kol:2026-11-08..2026-12-07","lax:2026-11-07..2026-12-06","utc0:2026-11-07..2026-12-06"]'
expect_eq "report 30d (all): the union of the windows" "$(jq -r '.from + ".." + .to' "$IT_TMP/r30.json")" \
  "2026-11-07..2026-12-07"
expect_eq "report 30d (all): total = SQL over each tenant's own days" "$(jq .summary.cost_nusd "$IT_TMP/r30.json")" \
  "$(( $(truth akl -29 0) + $(truth kol -29 0) + $(truth lax -29 0) + $(truth utc0 -29 0) ))"
expect_eq "report 30d (all): the day axis adds up to the total" \
  "$(jq '[.by_day[].cost_nusd] | add' "$IT_TMP/r30.json")" "$(jq .summary.cost_nusd "$IT_TMP/r30.json")"
get "/api/v1/reports?format=json&period=daily" "$IT_TMP/rd.json" >/dev/null
expect_eq "report daily (all): each tenant's own yesterday" \
  "$(jq -c '[.windows[] | .tenant + ":" + .from]' "$IT_TMP/rd.json")" \
  '["akl:2026-12-06","kol:2026-12-06","lax:2026-12-05","utc0:2026-12-05"]'
get "/api/v1/reports?format=json&from=2026-11-01&to=2026-11-30" "$IT_TMP/rr.json" >/dev/null
expect_eq "report with dates: the same local dates for every tenant" \
  "$(jq -c '[.per_tenant_windows, ([.windows[] | .from + ".." + .to] | unique)]' "$IT_TMP/rr.json")" \
  '[false,["2026-11-01..2026-11-30"]]'
get "/api/v1/reports?format=text&period=7d" "$IT_TMP/r7.text" >/dev/null
check "report 7d as text lists Auckland's own window" grep -q 'akl  *2026-12-01 .. 2026-12-07 (Pacific/Auckland)' "$IT_TMP/r7.text"
get "/api/v1/reports?format=csv&period=7d" "$IT_TMP/r7.csv" >/dev/null
expect_eq "report 7d as CSV: a window row per tenant" "$(grep '^window,' "$IT_TMP/r7.csv" | tr -d '\r' | tr '\n' ' ')" \
  "window,akl,Pacific/Auckland,0,0.000000000,0,0,0,0,0,0,0,2026-12-01..2026-12-07,, window,kol,Asia/Kolkata,0,0.000000000,0,0,0,0,0,0,0,2026-12-01..2026-12-07,, window,lax,America/Los_Angeles,0,0.000000000,0,0,0,0,0,0,0,2026-11-30..2026-12-06,, window,utc0,UTC,0,0.000000000,0,0,0,0,0,0,0,2026-11-30..2026-12-06,, "
get "/api/v1/reports?format=html&period=7d" "$IT_TMP/r7.html" >/dev/null
check "report 7d as html lists Auckland's own window" grep -q '2026-12-01 to 2026-12-07: akl (Pacific/Auckland)' "$IT_TMP/r7.html"

# ---------------------------------------------------------------------------------------
# Costs over the API: every group, default window and dates

for group in day agent_type model agent task kind tenant; do
  for span in "" "&from=2026-11-20&to=2026-12-07"; do
    for t in "${TENANTS[@]}"; do
      get "/api/v1/costs?group=$group&tenant=$t$span" "$IT_TMP/c.$t.json" >/dev/null
    done
    get "/api/v1/costs?group=$group$span" "$IT_TMP/c.all.json" >/dev/null
    out=$(sumcheck costs "$group" "$IT_TMP/c.all.json" $(per c) 2>&1)
    check "costs by $group${span:+ (dates)}: all-tenant = sum of tenants$(tail -1 <<<"$out")" grep -q ' 0 differ' <<<"$out"
  done
done
get "/api/v1/costs?group=tenant" "$IT_TMP/ct.json" >/dev/null
expect_eq "costs by tenant (default): Auckland's own last 30 days" \
  "$(jq '.rows[] | select(.key == "akl") | .cost_nusd' "$IT_TMP/ct.json")" "$(truth akl -29 0)"

# ---------------------------------------------------------------------------------------
# Alerts over the API

get "/api/v1/alerts" "$IT_TMP/a.all.json" >/dev/null
want=$(for t in "${TENANTS[@]}"; do get "/api/v1/alerts?tenant=$t" "$IT_TMP/a.$t.json" >/dev/null; jq -r '.alerts[].alert_id' "$IT_TMP/a.$t.json"; done | sort -n | tr '\n' ' ')
expect_eq "alerts (all): the union of each tenant's alerts in its own window" \
  "$(jq -r '.alerts[].alert_id' "$IT_TMP/a.all.json" | sort -n | tr '\n' ' ')" "$want"
expect_eq "alerts (all): Auckland's of its today are there, none from before a window" \
  "$(jq -c '[([.alerts[] | select(.tenant == "akl" and .period_key == "2026-12-07")] | length), ([.alerts[] | select(.text | test("before"))] | length)]' "$IT_TMP/a.all.json")" '[3,0]'

# ---------------------------------------------------------------------------------------
# Live stream: the all-tenant figure is the sum of every tenant's own today

first_total() { # first_total <query>: today_nusd of the first totals event
  timeout 5 curl -s -N -H "Authorization: Bearer $ADMIN" "$base/api/v1/stream$1" 2>/dev/null |
    grep -m1 '^data:' | sed 's/^data: //' | jq -r .today_nusd
}
live_sum=0
for t in "${TENANTS[@]}"; do
  v=$(first_total "?tenant=$t")
  expect_eq "live $t: its own today" "$v" "$(truth "$t" 0 0)"
  live_sum=$((live_sum + ${v:-0}))
done
expect_eq "live (all): the sum of each tenant's own today" "$(first_total "")" "$live_sum"

# ---------------------------------------------------------------------------------------
# fleetcost report --all and billing

rep() { "$fleetcost" report --pg-url "$IT_URL" --clock "$CLOCK" --format json --top 100 "$@"; }
for period in daily weekly monthly; do
  for t in "${TENANTS[@]}"; do rep --tenant "$t" --period "$period" -o "$IT_TMP/cli.$t.json"; done
  rep --all --period "$period" -o "$IT_TMP/cli.all.json"
  out=$(sumcheck report "$IT_TMP/cli.all.json" $(per cli) 2>&1)
  check "fleetcost report --all --period $period = sum of tenants$(tail -1 <<<"$out")" grep -q ' 0 differ' <<<"$out"
done
rep --all -o "$IT_TMP/cli.all.json"
expect_eq "fleetcost report --all: each tenant's own yesterday" \
  "$(jq -c '[.windows[] | .tenant + ":" + .from]' "$IT_TMP/cli.all.json")" \
  '["akl:2026-12-06","kol:2026-12-06","lax:2026-12-05","utc0:2026-12-05"]'
expect_fail "fleetcost report: a bad clock" "clock" rep --all --clock yesterday

"$fleetcost" billing --pg-url "$IT_URL" --month 2026-11 --format json -o "$IT_TMP/bill.json" || it_die "billing failed"
bill_sum=0
for t in "${TENANTS[@]}"; do
  rep --tenant "$t" --period monthly --date 2026-11-15 -o "$IT_TMP/m.$t.json"
  expect_eq "billing 2026-11: $t equals its monthly report" \
    "$(jq ".tenants[] | select(.tenant == \"$t\") | .cost_nusd" "$IT_TMP/bill.json")" "$(jq .summary.cost_nusd "$IT_TMP/m.$t.json")"
  bill_sum=$((bill_sum + $(jq .summary.cost_nusd "$IT_TMP/m.$t.json")))
done
expect_eq "billing 2026-11: total = sum of the tenants' monthly reports" "$(jq .total_nusd "$IT_TMP/bill.json")" "$bill_sum"

# ---------------------------------------------------------------------------------------
# The dashboard's figures: models, tokens and caching, budget burn, ranges, links,
# drill-down pages (each all-tenant figure again the sum of the tenants')

# bars <file> <chart id>: the exact figures of a chart's bars, "label: value" per line
bars() {
  python3 - "$1" "$2" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(open(sys.argv[1], encoding='utf-8').read().split('\n', 1)[1])
ns = '{http://www.w3.org/2000/svg}'
for svg in root.iter(ns + 'svg'):
    if svg.get('id') == sys.argv[2]:
        for rect in svg.iter(ns + 'rect'):
            if 'bar' in rect.get('class', '').split():
                print(rect.find(ns + 'title').text)
PY
}
get "/api/v1/reports?format=json&period=30d&top=100" "$IT_TMP/r30.json" >/dev/null
expect_eq "dashboard: cost by model, each bar the report's exact figure" \
  "$(bars "$IT_TMP/dash.all.html" chart-model | sort)" \
  "$(jq -r '.by_model[] | "\(.model): $\(.cost_usd)"' "$IT_TMP/r30.json" | sort)"
expect_eq "dashboard: tokens by kind, the report's token counts" \
  "$(bars "$IT_TMP/dash.all.html" chart-tokens | tr '\n' ' ')" \
  "$(jq -r '.summary.tokens | "input: \(.input) output: \(.output) cache read: \(.cache_read) cache write 5m: \(.cache_write_5m) cache write 1h: \(.cache_write_1h) "' "$IT_TMP/r30.json")"
expect_eq "dashboard: cache hit rate card = the report's share of prompt read from cache" \
  "$(grep -o 'id="cache-hit">[^<]*' "$IT_TMP/dash.all.html" | cut -d'>' -f2)" \
  "$(jq -r '.cache.cache_read_share_pct + "%"' "$IT_TMP/r30.json")"
expect_eq "dashboard: caching saved card = what cache reads saved" \
  "$(grep -o 'id="cache-saved">[^<]*' "$IT_TMP/dash.all.html" | cut -d'>' -f2)" \
  "\$$(jq -r '.cache.saved_by_reads_nusd' "$IT_TMP/r30.json" | awk '{ printf "%.2f", $1 / 1e9 }')"

# Budget burn: each tenant's own month, its own budget (akl $300, the others the $100
# default), thresholds of the default budget rows.
get "/api/v1/reports?format=json&period=mtd" "$IT_TMP/mtd.json" >/dev/null
expect_eq "burn (all): month to date = the all-tenant mtd report" \
  "$(attr data-mtd-nusd "$IT_TMP/dash.all.html")" "$(jq .summary.cost_nusd "$IT_TMP/mtd.json")"
mtd_sum=0
for t in "${TENANTS[@]}"; do mtd_sum=$((mtd_sum + $(attr data-mtd-nusd "$IT_TMP/dash.$t.html"))); done
expect_eq "burn (all): month to date = sum of the tenant dashboards'" "$(attr data-mtd-nusd "$IT_TMP/dash.all.html")" "$mtd_sum"
expect_eq "burn (all): the budget line is the sum of the tenants' budgets" \
  "$(grep -o '<text[^>]*class="value">100% [^<]*' "$IT_TMP/dash.all.html" | sed 's/.*>//')" '100% $600.00'
expect_eq "burn (akl): its own budget" \
  "$(grep -o '<text[^>]*class="value">100% [^<]*' "$IT_TMP/dash.akl.html" | sed 's/.*>//')" '100% $300.00'
expect_eq "burn (all): threshold lines at 50% and 80%" \
  "$(grep -o '<text[^>]*class="value">[0-9]*% [^<]*' "$IT_TMP/dash.all.html" | sed 's/.*>//' | tr '\n' ' ')" \
  '50% $300.00 80% $480.00 100% $600.00 '
expect_eq "burn (all): one column per day of the longest month so far (Auckland's 7th)" \
  "$(bars "$IT_TMP/dash.all.html" chart-burn | wc -l)" 7
expect_eq "burn (lax): its month has begun 6 days ago" "$(bars "$IT_TMP/dash.lax.html" chart-burn | wc -l)" 6
expect_eq "burn (lax): the last column is its month to date" \
  "$(bars "$IT_TMP/dash.lax.html" chart-burn | tail -1 | sed 's/.*\$//')" \
  "$(attr data-mtd-nusd "$IT_TMP/dash.lax.html" | awk '{ printf "%.9f", $1 / 1e9 }')"
check "burn: a forecast line" grep -q 'class="forecast"' "$IT_TMP/dash.all.html"

# Range picker
for range in 7d 90d mtd; do
  expect_eq "dashboard ?range=$range (all)" "$(get "/dashboard?range=$range" "$IT_TMP/dr.html")" 200
  get "/api/v1/reports?format=json&period=$range" "$IT_TMP/rr.json" >/dev/null
  expect_eq "dashboard ?range=$range: its cost = the all-tenant report of each tenant's own $range" \
    "$(attr data-total-nusd "$IT_TMP/dr.html")" "$(jq .summary.cost_nusd "$IT_TMP/rr.json")"
  check "dashboard ?range=$range: the picker marks it and links the others" \
    bash -c "grep -q '<nav class=\"ranges\">' '$IT_TMP/dr.html' && grep -c 'href=\"/dashboard?range=' '$IT_TMP/dr.html' | grep -q '^[1-9]'"
done
expect_eq "dashboard: an unknown range is a 400" "$(get "/dashboard?range=1y" "$IT_TMP/body")" 400

# Every bar and row links somewhere that answers
linked() {
  python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(open(sys.argv[1], encoding='utf-8').read().split('\n', 1)[1])
svg = '{http://www.w3.org/2000/svg}'
bad = 0
parents = {c: p for p in root.iter() for c in p}
for r in root.iter(svg + 'rect'):
    if 'bar' in r.get('class', '').split() and not parents[r].tag.endswith('a'):
        bad += 1
rows = 0
for table in root.iter('table'):
    for tr in list(table)[1:]:
        td = tr.find('td')
        if td is not None and td.get('colspan') is None and td.find('a') is None and table.find('tr/th').text in ('tenant', 'model', 'agent type', 'kind', 'agent', 'task'):
            bad += 1
print(bad)
PY
}
expect_eq "dashboard (all): every bar but the burn's and every row of a breakdown is a link" \
  "$(linked "$IT_TMP/dash.all.html")" "$(bars "$IT_TMP/dash.all.html" chart-burn | wc -l)"
links=$(grep -o 'href="/dashboard[^"]*"' "$IT_TMP/dash.all.html" "$IT_TMP/dash.akl.html" | cut -d'"' -f2 | sed 's/&amp;/\&/g' | sort -u)
bad=0
for u in $links; do
  s=$(get "$u" "$IT_TMP/link.html")
  [ "$s" = 200 ] || { bad=$((bad + 1)); echo "  $s for $u"; }
done
check "dashboard links: all $(wc -w <<<"$links") distinct links answer 200" test "$bad" -eq 0

# Drill-down pages: exact, and again all-tenant = sum of tenants
drill() { get "/dashboard/-/drill?$1" "$IT_TMP/drill.html" >/dev/null; attr data-cost-nusd "$IT_TMP/drill.html"; }
costs_row() { get "/api/v1/costs?group=$1${3:-}" "$IT_TMP/cr.json" >/dev/null; jq ".rows[] | select(.key == \"$2\") | .cost_nusd" "$IT_TMP/cr.json"; }
expect_eq "drill task akl-task-1: its cost over akl's 30 days" "$(drill 'dim=task&id=akl-task-1&tenant=akl')" "$(costs_row task akl-task-1 '&tenant=akl')"
check "drill task: names its agents, linked" grep -q 'dim=agent&amp;id=akl-agent-1&amp;tenant=akl' "$IT_TMP/drill.html"
check "drill task: what the tasks table knows" grep -q '<li>title: Task 1</li>' "$IT_TMP/drill.html"
expect_eq "drill agent lax-agent-2 (7 days)" "$(drill 'dim=agent&id=lax-agent-2&tenant=lax&range=7d')" \
  "$(get "/api/v1/reports?format=json&top=100&period=7d&tenant=lax" "$IT_TMP/x.json" >/dev/null; jq '.by_agent[] | select(.agent == "lax-agent-2") | .cost_nusd' "$IT_TMP/x.json")"
check "drill agent: its trend has bars" test "$(bars "$IT_TMP/drill.html" chart-drill-trend | wc -l)" -ge 7
model_sum=0
for t in "${TENANTS[@]}"; do model_sum=$((model_sum + $(drill "dim=model&id=claude-opus-4-1&tenant=$t"))); done
expect_eq "drill model (all) = the cost by model row" "$(drill 'dim=model&id=claude-opus-4-1')" "$(costs_row model claude-opus-4-1)"
expect_eq "drill model (all) = sum of the tenants' drill pages" "$(drill 'dim=model&id=claude-opus-4-1')" "$model_sum"
expect_eq "drill agent type (all) = the cost by agent type row" "$(drill 'dim=agent_type&id=coder')" "$(costs_row agent_type coder)"
expect_eq "drill: an agent needs its tenant" "$(get "/dashboard/-/drill?dim=agent&id=akl-agent-1" "$IT_TMP/body")" 400
expect_eq "drill: unknown dimension" "$(get "/dashboard/-/drill?dim=colour&id=x" "$IT_TMP/body")" 400
expect_eq "drill: a hostile id is only text" \
  "$(get "/dashboard/-/drill?dim=model&id=%3Cscript%3Ealert(1)%3C%2Fscript%3E" "$IT_TMP/xss.html") $(grep -c '<script>alert' "$IT_TMP/xss.html")" "200 0"
check "drill: ... escaped in the page and in its links" \
  bash -c "grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' '$IT_TMP/xss.html' && grep -q 'id=%3Cscript%3Ealert%281%29' '$IT_TMP/xss.html'"
while read -r query word; do
  expect_eq "report $query: 400 naming $word" \
    "$(get "/api/v1/reports?$query" "$IT_TMP/body") $(jq -r .error.message "$IT_TMP/body" | grep -o "$word" | head -1)" "400 $word"
done <<'EOF2'
period=0d period
period=3661d period
period=7d&date=2026-12-01 period
period=mtd&from=2026-12-01&to=2026-12-02 period
period=12x period
EOF2
check "drill pages are well-formed" python3 -c "import sys, xml.etree.ElementTree as ET; ET.fromstring(open('$IT_TMP/drill.html').read().split('\n', 1)[1])"

kill -TERM $rpid
wait $rpid
expect_eq "reporter exits cleanly" "$?" 0
it_done
