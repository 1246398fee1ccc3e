#!/usr/bin/env bash
# it_rates: contract rate cards (issue 18, docs/RECONCILE.md §4). Tenant acme has a 15 %
# discount with an opus override (20 % off); beta has no card. Events go through ingest
# (billed per event at ingest) and the aggregator; every figure below is computed by hand
# from db/pricing/anthropic.csv (nano-USD per token), not by the code under test:
#   haiku-4-5  cw5m 1 token  : list 1,250      x 0.85 = 1,062.5  -> 1,062 (tie, to even)
#   haiku-4-5  cw5m 3 tokens : list 3,750      x 0.85 = 3,187.5  -> 3,188 (tie, to even)
#   opus-4-6   1001 in 100 out: 1001*5000 + 100*25000 = 7,505,000 x 0.80 = 6,004,000
#   sonnet-4-5 333 in 7 out  : 333*3000 + 7*15000    = 1,104,000 x 0.85 =   938,400
#   acme list 8,614,000, billed 6,946,650; beta haiku 1000 in: 1,000,000 list = billed.
# The month's bill (`fleetcost billing`, CSV and JSON) has acme's usage line at list
# 8,614,000 and billed 6,946,650, and its $100 fee as a monthly_fee line (list = billed =
# 100,000,000,000): acme's total list 100,008,614,000, billed 100,006,946,650. The CSV's,
# the JSON's and the FOCUS rows' totals are equal, list and billed.
# Then a new card backdated before the events (10 % off, no override) restates them:
#   1,125 + 3,375 + 6,754,500 + 993,600 = 7,752,600 billed; list unchanged.
# Reports (fleetcost report in every format, the reporter's /api/v1/reports and
# /api/v1/costs) show billed as the headline with list beside it: acme's day billed
# 6,946,650 ($0.006946650) and list 8,614,000 ($0.008614000), its opus billed 6,004,000 of
# list 7,505,000; beta billed = list = 1,000,000 and one "cost" figure; after the restated
# card acme's billed is 7,752,600. gamma's open day (read from events, not rollups):
# billed 1,100,000, list 1,000,000 (below), also its live figure of today. The dashboard's
# cards and a drill-down page are billed too: acme's 7 days 6,946,650, its opus 6,004,000;
# the month-to-date burn is on the budget's basis: gamma 1,100,000 (billed), delta with a
# monthly budget --basis list 1,000,000.
# The reporter lists the cards at /api/v1/rates, each tenant key its own tenant's only.
# Budgets watch billed cost by default: gamma and delta have a 10 % markup and one haiku
# request today of 1000 input tokens (list 1,000,000, billed 1,100,000) against a daily
# budget of $0.00105 (1,050,000): gamma's (billed) fires 100 %, delta's (--basis list) not.
# The same holds for their agent-type budgets (type coder, $0.00105 a day) and runaway
# limits ($0.00105 in an hour): gamma's (billed, the default) fire, 1,100,000 > 1,050,000;
# delta's (--basis list) see 1,000,000: the agent type's 50 and 80 % only, no runaway.
#   it_rates.sh <fleetcost> <ingest> <aggregator> <reporter> <alerter>
fleetcost=${1:?usage: it_rates.sh <fleetcost> <ingest> <aggregator> <reporter> <alerter>}
ingest_bin=${2:?} aggregator_bin=${3:?} reporter_bin=${4:?} alerter_bin=${5:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_setup rates
"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
read -r p_redis p_in p_pub p_sum p_http p_alert < <(it_free_ports 6)
it_redis_start "$p_redis"
ingest_pid= agg_pid= rep_pid= alert_pid=
stop_all() {
  [ -n "$alert_pid" ] && kill "$alert_pid" 2>/dev/null
  [ -n "$ingest_pid" ] && kill "$ingest_pid" 2>/dev/null
  [ -n "$rep_pid" ] && kill "$rep_pid" 2>/dev/null
  [ -n "$agg_pid" ] && kill "$agg_pid" 2>/dev/null
  wait 2>/dev/null
  it_redis_stop
  it_cleanup
}
trap stop_all EXIT
export FLEETCOST_REDIS_URL="redis://127.0.0.1:$p_redis/0"
r() { redis-cli -p "$p_redis" "$@"; }
# await <what> <command> <want>: polls the command's output until it is want (20 s).
await() {
  local what=$1 cmd=$2 want=$3 got deadline=$((SECONDS + 20))
  while :; do
    got=$(eval "$cmd")
    [ "$got" = "$want" ] || [ $SECONDS -ge $deadline ] && break
    sleep 0.2
  done
  expect_eq "$what" "$got" "$want"
}

for t in acme beta gamma delta; do
  "$fleetcost" tenant set --pg-url "$IT_URL" --tenant "$t" --tz UTC >/dev/null || it_die "tenant $t"
done
day=$(it_date -2)
month=${day:0:7}
check "rate set: 15 % off, opus 20 % off, a monthly fee" "$fleetcost" rate set --pg-url "$IT_URL" \
  --tenant acme --from "$(it_date -4)" --bp -1500 --override opus=-2000 --monthly-fee 100 \
  --note "it: contract v1" --actor it
expect_fail "an override of a bad family is refused" "override" "$fleetcost" rate set \
  --pg-url "$IT_URL" --tenant acme --from "$(it_date -2)" --override 'Opus=-1'
expect_fail "an unknown tenant is refused" "unknown tenant" "$fleetcost" rate set \
  --pg-url "$IT_URL" --tenant nobody --from "$(it_date -2)" --bp -100
for t in gamma delta; do
  "$fleetcost" rate set --pg-url "$IT_URL" --tenant $t --from "$(it_date -4)" --bp 1000 >/dev/null ||
    it_die "rate set $t"
done
check "budget set: gamma, billed by default" "$fleetcost" budget set --pg-url "$IT_URL" \
  --tenant gamma --daily 0.00105
check "budget set: delta, --basis list" "$fleetcost" budget set --pg-url "$IT_URL" \
  --tenant delta --daily 0.00105 --basis list
for t in gamma delta; do
  basis=; [ $t = delta ] && basis="--basis list"
  check "budget set: $t's agent type coder ${basis:-billed}" "$fleetcost" budget set \
    --pg-url "$IT_URL" --tenant $t --agent-type coder --daily 0.00105 $basis
  check "budget set: $t's runaway limit ${basis:-billed}" "$fleetcost" budget set \
    --pg-url "$IT_URL" --tenant $t --agent-runaway 0.00105 --window 1h $basis
done
check "budget list names every budget's basis" grep -qE '^delta +agent_runaway .* list$' \
  <<<"$("$fleetcost" budget list --pg-url "$IT_URL" --tenant delta)"
expect_fail "--basis takes billed or list" "billed or list" "$fleetcost" budget set \
  --pg-url "$IT_URL" --tenant delta --daily 1 --basis net
list=$("$fleetcost" rate list --pg-url "$IT_URL")
check "rate list shows the card" grep -qE '^acme +1 .* -1500 +100\.00  opus=-2000' <<<"$list"

"$ingest_bin" --insecure --pg-url "$IT_URL" --ingest-id it --bind "tcp://127.0.0.1:$p_in" \
  --pub-bind "tcp://127.0.0.1:$p_pub" --metrics-port 0 --group-ms 2 >>"$IT_TMP/ingest.log" 2>&1 &
ingest_pid=$!
"$aggregator_bin" --insecure --pg-url "$IT_URL" --redis-url "$FLEETCOST_REDIS_URL" \
  --ingest-pub "tcp://127.0.0.1:$p_pub" --bind "tcp://127.0.0.1:$p_sum" --metrics-port 0 \
  --interval-ms 200 --rollup-ms 500 >>"$IT_TMP/aggregator.log" 2>&1 &
agg_pid=$!
ts=$(date -u -d "$day 12:00:00" +%s)
now=$(($(date -u +%s) - 30))
"$alerter_bin" --insecure --pg-url "$IT_URL" --aggregator-pub "tcp://127.0.0.1:$p_sum" \
  --bind "tcp://127.0.0.1:$p_alert" --metrics-port 0 --eval-interval-ms 300 \
  --slow-interval-ms 300 >>"$IT_TMP/alerter.log" 2>&1 &
alert_pid=$!
out=$("$fleetcost" emit --stdin --ingest-endpoints "tcp://127.0.0.1:$p_in" --spool-dir "$IT_TMP/spool" \
  --timeout-ms 30000 2>&1 <<EOF2
{"type":"usage","tenant":"acme","agent":"a1","time":$ts,"model":"claude-haiku-4-5","cache_write_5m_tokens":1}
{"type":"usage","tenant":"acme","agent":"a1","time":$((ts + 1)),"model":"claude-haiku-4-5-20251001","cache_write_5m_tokens":3}
{"type":"usage","tenant":"acme","agent":"a2","time":$((ts + 2)),"model":"claude-opus-4-6","input_tokens":1001,"output_tokens":100}
{"type":"usage","tenant":"acme","agent":"a2","time":$((ts + 3)),"model":"claude-sonnet-4-5","input_tokens":333,"output_tokens":7}
{"type":"usage","tenant":"beta","agent":"b1","time":$((ts + 4)),"model":"claude-haiku-4-5","input_tokens":1000}
{"type":"usage","tenant":"gamma","agent":"g1","agent_type":"coder","time":$now,"model":"claude-haiku-4-5","input_tokens":1000}
{"type":"usage","tenant":"delta","agent":"d1","agent_type":"coder","time":$now,"model":"claude-haiku-4-5","input_tokens":1000}
EOF2
)
expect_eq "7 events stored" "$(grep -o '^emit: [0-9]* acked' <<<"$out")" "emit: 7 acked"
await "gamma's budget (billed) fires 50, 80 and 100 %" \
  "q '$IT_URL' \"SELECT string_agg(threshold_pct || ':' || value_nusd, ' ' ORDER BY threshold_pct)
     FROM cost_alerts WHERE tenant_id = 'gamma' AND kind = 'threshold' AND scope = 'day'\"" \
  "50:1100000 80:1100000 100:1100000"
check "... and its alert says billed cost" grep -q 'billed cost)$' <<<"$(q "$IT_URL" \
  "SELECT text FROM cost_alerts WHERE tenant_id = 'gamma' AND threshold_pct = 100 AND scope = 'day'")"
await "delta's budget (list) fires 50 and 80 %, not 100" \
  "q '$IT_URL' \"SELECT string_agg(threshold_pct || ':' || value_nusd, ' ' ORDER BY threshold_pct)
     FROM cost_alerts WHERE tenant_id = 'delta' AND kind = 'threshold' AND scope = 'day'\"" \
  "50:1000000 80:1000000"
check "... and its alert says list cost" grep -q 'list cost)$' <<<"$(q "$IT_URL" \
  "SELECT text FROM cost_alerts WHERE tenant_id = 'delta' AND threshold_pct = 80 AND scope = 'day'")"
await "gamma's agent-type budget (billed) fires 50, 80 and 100 %" \
  "q '$IT_URL' \"SELECT string_agg(subject || ':' || threshold_pct || ':' || value_nusd, ' ' ORDER BY threshold_pct)
     FROM cost_alerts WHERE tenant_id = 'gamma' AND kind = 'threshold' AND scope = 'agent_type'\"" \
  "coder:50:1100000 coder:80:1100000 coder:100:1100000"
await "gamma's runaway limit (billed) fires for g1" \
  "q '$IT_URL' \"SELECT string_agg(subject || ':' || value_nusd, ' ') FROM cost_alerts
     WHERE tenant_id = 'gamma' AND kind = 'runaway'\"" "g1:1100000"
check "... and says billed cost" grep -q 'billed cost)$' <<<"$(q "$IT_URL" \
  "SELECT text FROM cost_alerts WHERE tenant_id = 'gamma' AND kind = 'runaway'")"
await "delta's agent-type budget (list) fires 50 and 80 %, not 100" \
  "q '$IT_URL' \"SELECT string_agg(threshold_pct || ':' || value_nusd, ' ' ORDER BY threshold_pct)
     FROM cost_alerts WHERE tenant_id = 'delta' AND kind = 'threshold' AND scope = 'agent_type'\"" \
  "50:1000000 80:1000000"
expect_eq "delta's runaway limit (list): no alert" \
  "$(q "$IT_URL" "SELECT count(*) FROM cost_alerts WHERE tenant_id = 'delta' AND kind = 'runaway'")" 0
expect_fail "budget check: gamma over its billed budget" "OVER BUDGET \\(billed cost\\)" \
  "$fleetcost" budget check --pg-url "$IT_URL" --tenant gamma
check "budget check: delta within its list budget" "$fleetcost" budget check --pg-url "$IT_URL" --tenant delta

expect_eq "ingest: billed per event, ties to even, the opus override" \
  "$(q "$IT_URL" "SELECT string_agg(cost_nusd || '/' || coalesce(billed_nusd::text, '-') || '/'
                   || coalesce(rate_card_version::text, '-'), ' ' ORDER BY event_time)
                   FROM events WHERE cost_kind IS NOT NULL AND tenant_id IN ('acme', 'beta')")" \
  "1250/1062/1 3750/3188/1 7505000/6004000/1 1104000/938400/1 1000000/-/-"
await "Redis day totals of acme: billed next to list" \
  "echo \$(r HGET 'fc:{acme}:day:$day' cost_nusd) \$(r HGET 'fc:{acme}:day:$day' billed_nusd)" \
  "8614000 6946650"
await "Redis month totals of acme" "r HGET 'fc:{acme}:month:$month' billed_nusd" 6946650
await "beta without a card: billed = list" "r HGET 'fc:{beta}:day:$day' billed_nusd" 1000000
await "the day's rollup (cost_summaries) carries billed" \
  "q '$IT_URL' \"SELECT cost_nusd || ' ' || billed_nusd FROM cost_summaries WHERE tenant_id = 'acme'
     AND day = '$day' AND dimension = 'total' AND final\"" "8614000 6946650"
expect_eq "the month's rollup (cost_months) too" \
  "$(q "$IT_URL" "SELECT cost_nusd || ' ' || billed_nusd FROM cost_months WHERE tenant_id = 'acme'
                   AND month = '$month-01' AND dimension = 'total'")" "8614000 6946650"

# Reports: billed is the headline where a rate card applies, list beside it (the day is
# closed: read from its rollups). Figures from the hand computation in the header.
key_acme=$("$fleetcost" key create --pg-url "$IT_URL" --tenant acme 2>/dev/null | grep -m 1 -o 'fck_[0-9a-f_]*')
key_beta=$("$fleetcost" key create --pg-url "$IT_URL" --tenant beta 2>/dev/null | grep -m 1 -o 'fck_[0-9a-f_]*')
key_admin=$("$fleetcost" key create --pg-url "$IT_URL" --admin 2>/dev/null | grep -m 1 -o 'fck_[0-9a-f_]*')
[ -n "$key_acme" ] && [ -n "$key_beta" ] && [ -n "$key_admin" ] || it_die "key create"
"$reporter_bin" --insecure --http-port "$p_http" --pg-reader-url "$IT_READER_URL" \
  --aggregator-pub "tcp://127.0.0.1:$p_sum" 2>"$IT_TMP/reporter.log" &
rep_pid=$!
base="http://127.0.0.1:$p_http"
deadline=$((SECONDS + 15))
until curl -sf "$base/healthz" -o /dev/null; do
  [ $SECONDS -ge $deadline ] && it_die "reporter did not start"
  sleep 0.05
done
rep() { "$fleetcost" report --pg-url "$IT_URL" --period daily --date "$day" "$@"; }
out=$(rep --tenant acme)
check "report text: acme's billed cost is the headline" \
  grep -q '^  billed cost      \$0\.006946650 (6946650 nano-USD)$' <<<"$out"
check "... list cost beside it" grep -q '^  list cost        \$0\.008614000 (8614000 nano-USD)$' <<<"$out"
check "... the by-model table has billed and list columns" \
  grep -qE '^  claude-opus-4-6 +0\.01 +0\.01 ' <<<"$(sed -n '/^COST BY MODEL/,/^$/p' <<<"$out")"
check "... its header says so" grep -qE '^  model +billed USD +list USD +share +events$' <<<"$out"
out=$(rep --tenant beta)
check "report text: beta without a card, one cost figure" \
  grep -q '^  cost             \$0\.001000000 (1000000 nano-USD)$' <<<"$out"
expect_eq "... and no billed figure" "$(grep -c 'billed' <<<"$out")" 0
csv_sum() { python3 -c 'import csv, sys
for r in csv.DictReader(sys.stdin):
    if r["section"] in ("summary", "model"):
        print(r["section"], r["key"], r["cost_nusd"], r["billed_nusd"], r["billed_usd"])'; }
expect_eq "report CSV: acme, list and billed columns" "$(rep --tenant acme --format csv | csv_sum)" \
"summary acme 8614000 6946650 0.006946650
model claude-opus-4-6 7505000 6004000 0.006004000
model claude-sonnet-4-5 1104000 938400 0.000938400
model claude-haiku-4-5 5000 4250 0.000004250"
expect_eq "report CSV: beta, billed = list" "$(rep --tenant beta --format csv | csv_sum)" \
"summary beta 1000000 1000000 0.001000000
model claude-haiku-4-5 1000000 1000000 0.001000000"
jsum='[.billed_differs, .summary.cost_nusd, .summary.billed_nusd, .summary.billed_usd,
       (.by_model[] | select(.model == "claude-opus-4-6") | [.cost_nusd, .billed_nusd])] | tostring'
expect_eq "report JSON: acme" "$(rep --tenant acme --format json | jq -r "$jsum")" \
  '[true,8614000,6946650,"0.006946650",[7505000,6004000]]'
expect_eq "report JSON: beta" "$(rep --tenant beta --format json | jq -r '[.billed_differs, .summary.cost_nusd, .summary.billed_nusd] | tostring')" \
  '[false,1000000,1000000]'
expect_eq "report JSON, all tenants: each tenant's billed and list" \
  "$(rep --all --format json | jq -r '.by_tenant[] | select(.tenant == "acme" or .tenant == "beta") | "\(.tenant) \(.cost_nusd) \(.billed_nusd)"')" \
"acme 8614000 6946650
beta 1000000 1000000"
out=$(rep --tenant acme --format html)
check "report HTML: billed headline" grep -q 'billed cost</div><div class="v" id="total-cost">\$0\.006946650</div><div>6946650 nano-USD' <<<"$out"
check "... list cost card" grep -q 'id="total-list-cost">\$0\.008614000</div><div>8614000 nano-USD' <<<"$out"
check "... it says which is which" grep -q '<p id="basis">Cost figures are billed cost' <<<"$out"
out=$(rep --tenant beta --format html)
check "report HTML: beta, one cost card" grep -q '<div>cost</div><div class="v" id="total-cost">\$0\.001000000</div>' <<<"$out"
# The open day of gamma (+10 %) is read from events: the events CTE reads billed too.
expect_eq "report JSON: gamma's open day, from events" \
  "$("$fleetcost" report --pg-url "$IT_URL" --tenant gamma --period 2d --format json |
     jq -r '"\(.source.event_days > 0) \(.summary.cost_nusd) \(.summary.billed_nusd)"')" "true 1000000 1100000"
get() { curl -s -H "Authorization: Bearer $1" "$base$2"; }
expect_eq "GET /api/v1/costs (acme's key): billed beside list, per model" \
  "$(get "$key_acme" "/api/v1/costs?group=model&from=$day&to=$day" | jq -r '.rows[] | "\(.key) \(.cost_nusd) \(.billed_nusd) \(.billed_usd)"')" \
"claude-opus-4-6 7505000 6004000 0.006004000
claude-sonnet-4-5 1104000 938400 0.000938400
claude-haiku-4-5 5000 4250 0.000004250"
expect_eq "GET /api/v1/costs CSV (admin): per tenant" \
  "$(get "$key_admin" "/api/v1/costs?group=tenant&from=$day&to=$day&format=csv" | python3 -c 'import csv, sys
for r in csv.DictReader(sys.stdin):
    print(r["key"], r["cost_nusd"], r["billed_nusd"], r["billed_usd"])')" \
"acme 8614000 6946650 0.006946650
beta 1000000 1000000 0.001000000"
expect_eq "GET /api/v1/reports JSON (acme's key)" \
  "$(get "$key_acme" "/api/v1/reports?period=daily&date=$day&format=json" | jq -r "$jsum")" \
  '[true,8614000,6946650,"0.006946650",[7505000,6004000]]'
check "GET /api/v1/reports text (acme's key)" grep -q '^  billed cost      \$0\.006946650 (6946650 nano-USD)$' \
  <<<"$(get "$key_acme" "/api/v1/reports?period=daily&date=$day&format=text")"
expect_eq "GET /api/v1/reports JSON (beta's key): billed = list" \
  "$(get "$key_beta" "/api/v1/reports?period=daily&date=$day&format=json" | jq -r '[.billed_differs, .summary.cost_nusd, .summary.billed_nusd] | tostring')" \
  '[false,1000000,1000000]'
attr() { grep -o "$1=\"[0-9]*\"" <<<"$2" | head -1 | grep -o '[0-9]*'; }
page=$(get "$key_acme" "/dashboard/acme?range=7d")
expect_eq "dashboard (acme): the range's cost is billed" "$(attr data-total-nusd "$page")" 6946650
check "... and says so, list in its note" grep -q '<div>billed cost</div><div class="v" id="total-range">\$0\.01</div><div class="note">Last 7 days; list \$0\.01</div>' <<<"$page"
page=$(get "$key_acme" "/dashboard/-/drill?range=7d&dim=model&id=claude-opus-4-6&tenant=acme")
expect_eq "drill-down (acme's opus): billed and list" \
  "$(attr data-billed-nusd "$page") $(attr data-cost-nusd "$page")" "6004000 7505000"
key_gamma=$("$fleetcost" key create --pg-url "$IT_URL" --tenant gamma 2>/dev/null | grep -m 1 -o 'fck_[0-9a-f_]*')
# live_today <key> <tenant>: today_nusd of the first totals event of the tenant's stream.
live_today() {
  local f="$IT_TMP/sse.$2" got="" cpid deadline=$((SECONDS + 20))
  curl -sN --max-time 30 -H "Authorization: Bearer $1" "$base/api/v1/stream?tenant=$2" >"$f" &
  cpid=$!
  while [ -z "$got" ] && [ $SECONDS -lt $deadline ]; do
    got=$(sed -n 's/^data: .*"today_nusd":"\([0-9]*\)".*/\1/p' "$f" | head -1)
    [ -n "$got" ] || sleep 0.2
  done
  kill "$cpid" 2>/dev/null
  wait "$cpid" 2>/dev/null
  echo "$got"
}
expect_eq "live stream (gamma, today): billed" "$(live_today "$key_gamma" gamma)" 1100000
# The dashboard's month-to-date burn is on the basis its monthly budget watches: gamma
# has none (billed, the default), delta's says list.
check "budget set: delta, monthly, --basis list" "$fleetcost" budget set --pg-url "$IT_URL" \
  --tenant delta --monthly 1 --basis list
key_delta=$("$fleetcost" key create --pg-url "$IT_URL" --tenant delta 2>/dev/null | grep -m 1 -o 'fck_[0-9a-f_]*')
expect_eq "GET /api/v1/budgets says each budget's basis" \
  "$(get "$key_delta" /api/v1/budgets | jq -r '.budgets[] | select(.scope == "daily" or .scope == "monthly") | "\(.scope) \(.basis)"' | sort | xargs)" \
  "daily list monthly list"
expect_eq "dashboard burn: gamma billed, delta list (its budget's basis)" \
  "$(attr data-mtd-nusd "$(get "$key_gamma" /dashboard/gamma)") $(attr data-mtd-nusd "$(get "$key_delta" /dashboard/delta)")" \
  "1100000 1000000"

focus() { # focus: tenant,model,BilledCost,ListCost,ContractedCost,EffectiveCost per row
  "$fleetcost" billing --pg-url "$IT_URL" --month "$month" --format focus |
    python3 -c 'import csv, sys
for r in csv.DictReader(sys.stdin):
    if r["ChargeCategory"] == "Usage" and r["SubAccountId"] in ("acme", "beta"):
        print(r["SubAccountId"], r["x_Model"], r["BilledCost"], r["ListCost"], r["ContractedCost"], r["EffectiveCost"])'
}
fees() { # fees: the rows that are not usage
  "$fleetcost" billing --pg-url "$IT_URL" --month "$month" --format focus |
    python3 -c 'import csv, sys
for r in csv.DictReader(sys.stdin):
    if r["ChargeCategory"] != "Usage" and r["SubAccountId"] in ("acme", "beta"):
        print(r["SubAccountId"], r["ChargeCategory"], r["ChargeFrequency"], r["BilledCost"], r["ListCost"],
              r["PricingQuantity"], r["PricingUnit"], r["ConsumedQuantity"] == "", r["SkuId"], r["x_ListCostNanoUSD"])'
}
expect_eq "FOCUS rows: billed from the rate card, list from the catalog" "$(focus)" \
"acme claude-haiku-4-5 0.000004250 0.000005000 0.000004250 0.000004250
acme claude-opus-4-6 0.006004000 0.007505000 0.006004000 0.006004000
acme claude-sonnet-4-5 0.000938400 0.001104000 0.000938400 0.000938400
beta claude-haiku-4-5 0.001000000 0.001000000 0.001000000 0.001000000"
expect_eq "FOCUS: the monthly fee of v1 is its own row (Purchase, Recurring)" "$(fees)" \
  "acme Purchase Recurring 100.000000000 100.000000000 1 Months True fleetcost/monthly-fee 100000000000"

bill() { "$fleetcost" billing --pg-url "$IT_URL" --month "$month" "$@"; }
bill --format csv -o "$IT_TMP/bill.csv" || it_die "billing csv failed"
bill --format json -o "$IT_TMP/bill.json" || it_die "billing json failed"
bill --format focus -o "$IT_TMP/focus.csv" || it_die "billing focus failed"
expect_eq "billing csv: list and billed per kind, the fee its own line" \
  "$(python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["tenant_id"] in ("acme", "beta"):
        print(r["tenant_id"], r["cost_kind"], r["cost_nusd"], r["billed_nusd"], r["billed_usd"], r["events"])' "$IT_TMP/bill.csv")" \
"acme usage 8614000 6946650 0.006946650 4
acme monthly_fee 100000000000 100000000000 100.000000000 0
beta usage 1000000 1000000 0.001000000 1"
expect_eq "billing json: acme's kinds and totals, list and billed" \
  "$(python3 -c 'import json, sys
for t in json.load(open(sys.argv[1]))["tenants"]:
    if t["tenant"] == "acme":
        print(" ".join(k["kind"] + ":" + str(k["cost_nusd"]) + "/" + str(k["billed_nusd"]) for k in t["kinds"]),
              t["cost_nusd"], t["billed_nusd"], t["billed_usd"])' "$IT_TMP/bill.json")" \
  "usage:8614000/6946650 monthly_fee:100000000000/100000000000 100008614000 100006946650 100.006946650"
expect_eq "billing: CSV total = JSON total = FOCUS sum, list and billed" \
  "$(python3 -c 'import csv, json, sys
from decimal import Decimal
c = list(csv.DictReader(open(sys.argv[1])))
j = json.load(open(sys.argv[2]))
f = list(csv.DictReader(open(sys.argv[3], newline="")))
for col, jcol, fcol in (("cost_nusd", "total_nusd", "ListCost"), ("billed_nusd", "billed_total_nusd", "BilledCost")):
    print(sum(int(r[col]) for r in c), j[jcol], int(sum(Decimal(r[fcol]) for r in f) * 10**9))' \
    "$IT_TMP/bill.csv" "$IT_TMP/bill.json" "$IT_TMP/focus.csv")" \
  "$(python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(j["total_nusd"], j["total_nusd"], j["total_nusd"]); print(*[j["billed_total_nusd"]] * 3)' "$IT_TMP/bill.json")"
check "... and the JSON total holds acme's" python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j["billed_total_nusd"] >= 100006946650 + 1000000 else 1)' "$IT_TMP/bill.json"

# A corrected card from before the events: restated, as reprice does.
out=$("$fleetcost" rate set --pg-url "$IT_URL" --tenant acme --from "$(it_date -3)" --bp -1000 \
  --actor it 2>&1)
check "rate set v2 (backdated) restates" grep -q 'rate.set: acme: 4 events changed, list 8614000 -> 8614000 nano-USD, billed 6946650 -> 7752600' <<<"$out"
expect_fail "a version may not start before the latest one" "may not start before" \
  "$fleetcost" rate set --pg-url "$IT_URL" --tenant acme --from "$(it_date -4)" --bp 0
expect_eq "events: billed restated, list kept" \
  "$(q "$IT_URL" "SELECT string_agg(cost_nusd || '/' || billed_nusd || '/' || rate_card_version, ' '
                   ORDER BY event_time) FROM events WHERE tenant_id = 'acme'")" \
  "1250/1125/2 3750/3375/2 7505000/6754500/2 1104000/993600/2"
expect_eq "the restatement is recorded with list and billed" \
  "$(q "$IT_URL" "SELECT old_cost_nusd || ' ' || new_cost_nusd || ' ' || old_billed_nusd || ' '
                   || new_billed_nusd || ' ' || events || ' ' || reason FROM restatements WHERE tenant_id = 'acme'")" \
  "8614000 8614000 6946650 7752600 4 rate.set"
expect_eq "v1 is closed where v2 starts; never edited otherwise" \
  "$(q "$IT_URL" "SELECT version || ' ' || (effective_to = '$(it_date -3)'::timestamptz) || ' ' || bp
                   FROM rate_cards WHERE tenant_id = 'acme' AND version = 1")" "1 true -1500"
expect_fail "a version cannot be edited in place" "not edited in place" \
  q "$IT_URL" "UPDATE rate_cards SET bp = 0 WHERE tenant_id = 'acme' AND version = 1"
expect_eq "rollup restated" \
  "$(q "$IT_URL" "SELECT billed_nusd FROM cost_summaries WHERE tenant_id = 'acme' AND day = '$day'
                   AND dimension = 'total'")" 7752600
expect_eq "... and the month" \
  "$(q "$IT_URL" "SELECT cost_nusd || ' ' || billed_nusd FROM cost_months WHERE tenant_id = 'acme'
                   AND month = '$month-01' AND dimension = 'total'")" "8614000 7752600"
# The restatement removed the aggregator's sentinel: it rebuilds from Postgres.
await "Redis rebuilt from the restated events" \
  "echo \$(r HGET 'fc:{acme}:day:$day' cost_nusd) \$(r HGET 'fc:{acme}:day:$day' billed_nusd)" \
  "8614000 7752600"
expect_eq "FOCUS rows restated" "$(focus | head -3)" \
"acme claude-haiku-4-5 0.000004500 0.000005000 0.000004500 0.000004500
acme claude-opus-4-6 0.006754500 0.007505000 0.006754500 0.006754500
acme claude-sonnet-4-5 0.000993600 0.001104000 0.000993600 0.000993600"
expect_eq "FOCUS: no fee once the month's latest card (v2) has none" "$(fees)" ""
expect_eq "report JSON: the restated billed cost, list kept" \
  "$(rep --tenant acme --format json | jq -r '"\(.summary.cost_nusd) \(.summary.billed_nusd)"')" "8614000 7752600"
hist=$("$fleetcost" rate history --pg-url "$IT_URL" --tenant acme)
expect_eq "rate history lists both versions" "$(grep -cE '^acme +[12] ' <<<"$hist")" 2
expect_eq "audited: two sets" "$(q "$IT_URL" "SELECT count(*) FROM audit_log WHERE action = 'rate.set' AND actor = 'it' AND object LIKE 'acme@%'")" 2
# The API: tenant keys see their own tenant's cards only (RLS), the admin key all.
api() { curl -s -H "Authorization: Bearer $1" "$base/api/v1/rates${2:-}"; }
cards() { python3 -c 'import json, sys
for c in json.load(sys.stdin)["rate_cards"]:
    print(c["tenant"], c["version"], c["bp"], json.dumps(c["overrides"]), c["monthly_fee_nusd"], c["effective_to"] is None)'; }
expect_eq "GET /api/v1/rates, acme's key: both versions" "$(api "$key_acme" | cards)" \
"acme 1 -1500 {\"opus\": -2000} 100000000000 False
acme 2 -1000 {} 0 True"
expect_eq "... beta's key: none of acme's" "$(api "$key_beta" | cards)" ""
check "... beta's key asking for acme is refused" grep -q '"error"' <<<"$(api "$key_beta" '?tenant=acme')"
expect_eq "... the admin key: every tenant's" "$(api "$key_admin" | cards | cut -d' ' -f1 | sort -u | xargs)" "acme delta gamma"
check "rate end" "$fleetcost" rate end --pg-url "$IT_URL" --tenant acme --at "$(it_date 30)" --actor it
expect_eq "... closes v2 in the future" \
  "$(q "$IT_URL" "SELECT effective_to = '$(it_date 30)'::timestamptz FROM rate_cards WHERE tenant_id = 'acme' AND version = 2")" t
it_done
