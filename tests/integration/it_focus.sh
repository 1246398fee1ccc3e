#!/usr/bin/env bash
# it_focus: `fleetcost billing --format focus` writes FinOps FOCUS 1.2 rows that add up, to
# the nano-dollar, to the bill of the same month (docs/FOCUS.md "What fleetcost writes").
# Seed: it_reporter_tz_seed.sql (four tenants in UTC, +13, +5:30 and -8, three models, usage
# every 50 minutes, final rollups for two tenants) plus one event whose model and agent
# names are spreadsheet formulas; lax has a rate card (15 % off, $250 a month) from before
# the month, so its billed cost is below list and it owes a monthly fee.
#  - header: every mandatory FOCUS 1.2 column; custom x_ columns last;
#  - every row: its tenant's local day / month as UTC instants, SubAccountId = tenant,
#    the four costs equal, exact 9-decimal nano-USD; no cell starts a formula;
#  - per tenant: sum(ListCost) (decimal), sum(x_ListCostNanoUSD) and sum(BilledCost) = the
#    JSON bill (fee rows included); totals: CSV bill = JSON bill = FOCUS, list and billed;
#  - when raw events are gone but rollups remain, the export refuses instead of
#    writing rows that do not add up.
#   it_focus.sh <fleetcost>
fleetcost=${1:?usage: it_focus.sh <fleetcost>}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
it_setup focus
MONTH=2026-11

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
q "$IT_URL" - <"$here/it_reporter_tz_seed.sql" >/dev/null || it_die "seeding failed"
q "$IT_URL" "INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type,
                                 task_id, model, model_family, input_tokens, output_tokens,
                                 cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
                                 cost_nusd, cost_kind, price_version, unpriced, ingest_id, seq)
             VALUES (gen_random_uuid(), '2026-11-10 12:00:00+00', 'utc0', 'usage',
                     '=cmd|'' /C calc''!A0', '@agent', 't', '=HYPERLINK(\"http://x\")',
                     '=HYPERLINK(\"http://x\")', 10, 20, 0, 0, 0, 123456789, 'usage', 1, false,
                     'it', 999999)" >/dev/null || it_die "hostile event failed"

check "rate set: lax 15 % off, \$250 a month, restated from October" "$fleetcost" rate set \
  --pg-url "$IT_URL" --tenant lax --from 2026-10-01 --bp -1500 --monthly-fee 250 --actor it

bill() { "$fleetcost" billing --pg-url "$IT_URL" --month "$MONTH" "$@"; }
bill --format json -o "$IT_TMP/bill.json" || it_die "billing json failed"
bill --format csv -o "$IT_TMP/bill.csv" || it_die "billing csv failed"
check "billing --format focus" bill --format focus -o "$IT_TMP/focus.csv"
expect_eq "lax: billed = list x 0.85 (rounded per event) and the fee, in the JSON bill" \
  "$(python3 -c 'import json, sys
t = {t["tenant"]: t for t in json.load(open(sys.argv[1]))["tenants"]}["lax"]
u = [k for k in t["kinds"] if k["kind"] != "monthly_fee"]
f = [k["billed_nusd"] for k in t["kinds"] if k["kind"] == "monthly_fee"]
print(f, abs(sum(k["billed_nusd"] for k in u) * 100 - sum(k["cost_nusd"] for k in u) * 85) <= 50 * sum(k["events"] for k in u))' \
    "$IT_TMP/bill.json")" "[250000000000] True"
out=$(python3 "$here/it_focus_check.py" "$IT_TMP/focus.csv" "$IT_TMP/bill.json" "$IT_TMP/bill.csv" "$MONTH" \
  utc0=UTC akl=Pacific/Auckland kol=Asia/Kolkata lax=America/Los_Angeles 2>&1)
rc=$?
echo "$out"
IT_CHECKS=$((IT_CHECKS + $(grep -c '^ok ' <<<"$out")))
IT_FAILURES=$((IT_FAILURES + $(grep -c '^FAIL ' <<<"$out")))
check "it_focus_check.py exited 0" test "$rc" -eq 0
csv=$(cat "$IT_TMP/focus.csv")
check "the formula model name is written guarded" grep -qF -- ",\"'=HYPERLINK(\"\"http://x\"\")\"," <<<"$csv"
expect_eq "the hostile row's cost is there exactly" \
  "$(grep -cF -- ',0.123456789,' <<<"$csv")" 1
expect_eq "the header, byte for byte" "$(head -1 "$IT_TMP/focus.csv" | tr -d '\r')" \
  "BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,ChargeCategory,ChargeClass,ChargeDescription,ChargeFrequency,ChargePeriodEnd,ChargePeriodStart,ConsumedQuantity,ConsumedUnit,ContractedCost,EffectiveCost,InvoiceIssuerName,ListCost,PricingQuantity,PricingUnit,ProviderName,PublisherName,ServiceCategory,ServiceName,ServiceSubcategory,SkuId,SubAccountId,SubAccountName,Tags,x_Model,x_CostKind,x_InputTokens,x_OutputTokens,x_CacheReadTokens,x_CacheWrite5mTokens,x_CacheWrite1hTokens,x_EventCount,x_UnpricedEvents,x_ListCostNanoUSD"
expect_eq "Auckland's 2026-11-01 starts at 11:00 UTC the day before (NZDT +13)" \
  "$(grep -c ',2026-11-01T11:00:00Z,2026-10-31T11:00:00Z,' <<<"$csv")" \
  "$(q "$IT_URL" "SELECT count(DISTINCT (model_family, cost_kind)) FROM events
                  WHERE tenant_id = 'akl' AND cost_kind IS NOT NULL
                    AND (event_time AT TIME ZONE 'Pacific/Auckland')::date = '2026-11-01'")"
opts=$(bill --format focus --focus-account '=acct' --focus-issuer 'Op, Inc')
check "--focus-account is written (escaped)" grep -q -- "^[0-9]*\.[0-9]*,\"'=acct\",,USD," <<<"$opts"
check "--focus-issuer is written (quoted)" grep -q -- ",\"Op, Inc\",[0-9]*\.[0-9]*," <<<"$opts"
expect_fail "a bad format is refused" "csv, json or focus" bill --format parquet

# Raw events of Auckland's final (rolled-up) days dropped, as retention would: the bill
# still has them from the rollups, the FOCUS rows would not; the export must refuse.
q "$IT_URL" "DELETE FROM events WHERE tenant_id = 'akl' AND event_time < '2026-11-15'" >/dev/null
expect_fail "events gone under rollups: the FOCUS export refuses" "does not add up" \
  bill --format focus -o "$IT_TMP/focus2.csv"
check "... and writes no file" test ! -e "$IT_TMP/focus2.csv"
it_done
