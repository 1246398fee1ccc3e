#!/usr/bin/env bash
# it_reprice: `fleetcost price set` adds a version (audited) and `fleetcost reprice`
# recomputes stored usage costs in a window with the version in force at each event's
# time, exactly as computed by hand below, and records a restatement per tenant. The
# billing rules (fast mode, US-only inference, batch, web search) reprice by hand too, and
# `price import / set / list` carry provider, rules and source.
#   it_reprice.sh <fleetcost binary> <source root>
fleetcost=${1:?usage: it_reprice.sh <fleetcost> <source root>}
root=${2:?usage: it_reprice.sh <fleetcost> <source root>}
. "$(dirname "$0")/lib.sh"
it_setup reprice
# A private Redis standing in for the aggregators' (reprice removes their sentinels).
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$IT_TMP" \
  --daemonize yes --pidfile "$IT_TMP/redis.pid" >/dev/null || it_die "redis did not start"
trap 'redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1; it_cleanup' EXIT
export FLEETCOST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
redis-cli -p "$redis_port" SET fc:agg:0-1:ready 1 >/dev/null
"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
day=$(it_date -1)
noon="$day 12:00:00+00"

# Usage stored with cost 0, as if priced wrongly: three haiku requests, one sonnet-4-5
# request over the long-context threshold, one unknown model; and one event of
# tenant b that a --tenant a run must not touch, with the same id and time as a's
# sonnet request (the events key includes the tenant, 0009: reprice must too).
q "$IT_URL" "INSERT INTO events (event_id, event_time, tenant_id, event_type, model,
               input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
               cache_write_1h_tokens, cost_nusd, cost_kind, ingest_id, seq)
             SELECT gen_random_uuid(), '$noon'::timestamptz + i * interval '1 second', 'a',
                    'usage', 'claude-haiku-4-5', 1000, 100, 10000, 0, 2000, 0, 'usage', 'it', i
               FROM generate_series(1, 3) i;
             INSERT INTO events (event_id, event_time, tenant_id, event_type, model,
               input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
               cache_write_1h_tokens, cost_nusd, cost_kind, ingest_id, seq) VALUES
             ('01890000-0000-7000-8000-00000000000a', '$noon', 'a', 'usage', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
              150000, 1000, 40000, 10001, 0, 0, 'usage', 'it', 4),
             (gen_random_uuid(), '$noon', 'a', 'usage', 'mystery-model', 5, 5, 0, 0, 0, 0, 'usage', 'it', 5),
             ('01890000-0000-7000-8000-00000000000a', '$noon', 'b', 'usage', 'claude-haiku-4-5', 1000, 100, 10000, 0,
              2000, 0, 'usage', 'it', 6)" >/dev/null || it_die "cannot insert events"

check "reprice of tenant a runs" "$fleetcost" reprice --pg-url "$IT_URL" --from "$day" --to "$day" --tenant a
# By hand, haiku-4-5 list prices (nano-USD/token: in 1000, out 5000, read 100, 1h write 2000):
#   1000*1000 + 100*5000 + 10000*100 + 2000*2000 = 6,500,000 per request, 3 requests.
# sonnet-4-5 above 200k prompt tokens (150000+40000+10001 = 200001): all tier rates:
#   150000*6000 + 1000*22500 + 40000*600 + 10001*7500 = 1,021,507,500.
expect_eq "haiku requests priced" "$(q "$IT_URL" "SELECT sum(cost_nusd) FROM events WHERE tenant_id='a' AND model='claude-haiku-4-5'")" 19500000
expect_eq "tiered sonnet request" "$(q "$IT_URL" "SELECT cost_nusd FROM events WHERE model LIKE 'us.anthropic%'")" 1021507500
expect_eq "the tier is recorded with the price (reports price cache savings with it)" \
  "$(q "$IT_URL" "SELECT string_agg(coalesce(price_tiered::text, 'null'), ' ' ORDER BY seq) FROM events WHERE tenant_id='a'")" \
  "false false false true null"
expect_eq "unknown model flagged unpriced" "$(q "$IT_URL" "SELECT unpriced::text || cost_nusd FROM events WHERE model='mystery-model'")" true0
expect_eq "tenant b untouched" "$(q "$IT_URL" "SELECT cost_nusd FROM events WHERE tenant_id='b'")" 0
expect_eq "restatement recorded" "$(q "$IT_URL" "SELECT old_cost_nusd || ' ' || new_cost_nusd || ' ' || events FROM restatements WHERE tenant_id='a'")" "0 1041007500 5"

# A new haiku price from that day (double), then reprice both tenants.
check "price set" "$fleetcost" price set --pg-url "$IT_URL" --model claude-haiku-4-5 --effective-from "$day" \
  --input 2000 --output 10000 --cache-read 200 --cache-write-5m 2500 --cache-write-1h 4000
expect_fail "an invalid price is refused" "invalid price" "$fleetcost" price set --pg-url "$IT_URL" \
  --model claude-haiku-4-5 --effective-from "$(it_date 1)" --input 1 --output 1 --cache-read 1 \
  --cache-write-5m 1 --cache-write-1h 1 --tier-threshold 100
check "reprice all tenants" "$fleetcost" reprice --pg-url "$IT_URL" --from "$day" --to "$day"
# 2000*1000 + 10000*100 + 200*10000 + 4000*2000 = 13,000,000 per haiku request.
expect_eq "haiku at the new version" "$(q "$IT_URL" "SELECT sum(cost_nusd) FROM events WHERE tenant_id='a' AND model='claude-haiku-4-5'")" 39000000
expect_eq "every haiku event names the new version" "$(q "$IT_URL" "SELECT count(*) FROM events e JOIN price_versions p ON p.version_id = e.price_version WHERE e.model='claude-haiku-4-5' AND p.effective_from = '$day'")" 4
expect_eq "second restatement of a" "$(q "$IT_URL" "SELECT old_cost_nusd || ' ' || new_cost_nusd || ' ' || events FROM restatements WHERE tenant_id='a' ORDER BY id DESC LIMIT 1")" "1041007500 1060507500 3"
expect_eq "restatement of b" "$(q "$IT_URL" "SELECT old_cost_nusd || ' ' || new_cost_nusd FROM restatements WHERE tenant_id='b'")" "0 13000000"
expect_eq "the aggregator's sentinel was removed (it rebuilds from Postgres)" "$(redis-cli -p "$redis_port" EXISTS fc:agg:0-1:ready)" 0
expect_eq "the day's rollup of a equals the repriced events" "$(q "$IT_URL" "SELECT cost_nusd || ' ' || final FROM cost_summaries WHERE tenant_id='a' AND day='$day' AND dimension='total'")" "$(q "$IT_URL" "SELECT sum(cost_nusd) FROM events WHERE tenant_id='a'") true"
expect_eq "the rollup by model" "$(q "$IT_URL" "SELECT cost_nusd FROM cost_summaries WHERE tenant_id='a' AND day='$day' AND dimension='model' AND key='claude-haiku-4-5'")" 39000000
expect_eq "audited" "$(q "$IT_URL" "SELECT count(*) FILTER (WHERE action='price.set') || ' ' || count(*) FILTER (WHERE action='reprice') FROM audit_log")" "1 3"
# Billing rules (issue 17), tenant c, by hand at the catalog of migration 0013:
#  - opus-4-6, fast, US-only, 2 web searches, 1000 in / 200 out:
#      (1000*5000 + 200*25000) * 6 * 1.1 = 66,000,000, + 2 * 10,000,000 = 86,000,000
#      (of which 20,000,000 server tools);
#  - sonnet-4-5 batch, 1000 in / 100 out: (1000*3000 + 100*15000) * 0.5 = 2,250,000;
#  - haiku-4-5 fast: no fast-mode price for Haiku, so unpriced (0) (and the haiku version
#    set above has no rules at all).
q "$IT_URL" "INSERT INTO events (event_id, event_time, tenant_id, event_type, model,
               input_tokens, output_tokens, speed, inference_geo, batch, web_search_requests,
               cost_nusd, cost_kind, ingest_id, seq) VALUES
             (gen_random_uuid(), '$noon', 'c', 'usage', 'claude-opus-4-6', 1000, 200, 'fast', 'us',
              NULL, 2, 0, 'usage', 'it', 7),
             (gen_random_uuid(), '$noon', 'c', 'usage', 'claude-sonnet-4-5', 1000, 100, NULL, NULL,
              true, NULL, 0, 'usage', 'it', 8),
             (gen_random_uuid(), '$noon', 'c', 'usage', 'claude-haiku-4-5-20251001', 1000, 100,
              'fast', NULL, NULL, NULL, 0, 'usage', 'it', 9)" >/dev/null ||
  it_die "cannot insert the rule events"
check "reprice of tenant c runs" "$fleetcost" reprice --pg-url "$IT_URL" --from "$day" --to "$day" --tenant c
expect_eq "fast + US-only + web search, batch, and fast without a price" \
  "$(q "$IT_URL" "SELECT string_agg(cost_nusd || '/' || coalesce(tool_cost_nusd, 0) || '/' || unpriced, ' ' ORDER BY seq)
                   FROM events WHERE tenant_id = 'c'")" \
  "86000000/20000000/false 2250000/0/false 0/0/true"

# price import takes the rule columns, provider, source and date of each row. The file as
# seeded by 0013 names Opus 5's own date, which the seed already holds: the import is
# refused whole. Without that date every row takes --effective-from.
before_versions=$(q "$IT_URL" "SELECT count(*) FROM price_versions")
expect_fail "a file with a row the catalog already has is refused whole" "duplicate key" \
  "$fleetcost" price import "$root/db/pricing/anthropic-2026.csv" --pg-url "$IT_URL" \
  --effective-from "$(it_date 1)"
expect_eq "... nothing of it imported" "$(q "$IT_URL" "SELECT count(*) FROM price_versions")" "$before_versions"
sed 's/,2026-07-24$/,/' "$root/db/pricing/anthropic-2026.csv" >"$IT_TMP/rules.csv"
check "price import of a CSV with rules" "$fleetcost" price import "$IT_TMP/rules.csv" \
  --pg-url "$IT_URL" --effective-from "$(it_date 1)"
printf '%s\n' "model,input,output,cache_read,cache_write_5m,cache_write_1h,tier_threshold,tier_input,tier_output,tier_cache_read,tier_cache_write_5m,tier_cache_write_1h,effective_from,provider" \
  "claude-opus-4-5,4000,20000,400,5000,8000,0,,,,,,$(it_date 3),anthropic" >"$IT_TMP/dated.csv"
check "price import: rows with their own date need no --effective-from" "$fleetcost" price import \
  "$IT_TMP/dated.csv" --pg-url "$IT_URL"
expect_eq "... stored at the row's date" \
  "$(q "$IT_URL" "SELECT input || ' ' || provider FROM price_versions WHERE model = 'claude-opus-4-5' AND effective_from = '$(it_date 3)'")" \
  "4000 anthropic"
expect_fail "price import: a row without a date needs --effective-from" "effective-from is required" \
  "$fleetcost" price import "$IT_TMP/rules.csv" --pg-url "$IT_URL"
expect_eq "imported: provider, rules (NULL where none), the row's own source" \
  "$(q "$IT_URL" "SELECT provider || ' ' || coalesce(fast_permille::text, '-') || ' ' || geo_us_permille
                          || ' ' || batch_permille || ' ' || web_search_nusd || ' '
                          || coalesce(code_exec_hour_nusd::text, '-') || ' ' || (source LIKE '%whats-new-opus-5%')
                     FROM price_versions WHERE model = 'claude-opus-5' AND effective_from = '$(it_date 1)'")" \
  "anthropic 2000 1100 500 10000000 - true"
check "price list shows the rules" bash -c "\"\$0\" price list --pg-url \"\$1\" --model claude-opus-4-6 | grep -q ' anthropic *6000 *1100 *500 *10000000'" "$fleetcost" "$IT_URL"
check "price set takes the rules" "$fleetcost" price set --pg-url "$IT_URL" --model claude-opus-4-7 \
  --effective-from "$(it_date 1)" --input 5000 --output 25000 --cache-read 500 --cache-write-5m 6250 \
  --cache-write-1h 10000 --provider anthropic --fast-permille 6000 --source "it: a test figure"
expect_eq "... stored as given" \
  "$(q "$IT_URL" "SELECT fast_permille || ' ' || coalesce(batch_permille::text, '-') || ' ' || source
                   FROM price_versions WHERE model = 'claude-opus-4-7' AND effective_from = '$(it_date 1)'")" \
  "6000 - it: a test figure"
expect_fail "a zero multiplier is refused" "invalid price" "$fleetcost" price set --pg-url "$IT_URL" \
  --model claude-opus-4-7 --effective-from "$(it_date 2)" --input 1 --output 1 --cache-read 1 \
  --cache-write-5m 1 --cache-write-1h 1 --batch-permille 0

# Nothing in another window changes.
before=$(q "$IT_URL" "SELECT sum(cost_nusd) FROM events")
check "reprice of an empty window" "$fleetcost" reprice --pg-url "$IT_URL" --from "$(it_date -9)" --to "$(it_date -8)"
expect_eq "costs unchanged" "$(q "$IT_URL" "SELECT sum(cost_nusd) FROM events")" "$before"
expect_fail "reprice needs a window" "required" "$fleetcost" reprice --pg-url "$IT_URL"
it_done
