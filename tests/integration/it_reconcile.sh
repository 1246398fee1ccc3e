#!/usr/bin/env bash
# it_reconcile: `fleetcost reconcile` against a local server that answers like
# Anthropic's Admin API with the pages of tests/fixtures/anthropic-admin/ (the story is
# in its README): fleetcost stored 14 of the 15 requests the bill holds; the missing one
# is globex's on 2026-12-02, 41,000,000 nano-USD. The fixture events are stored with
# cost 0 and priced by `fleetcost reprice` from the catalog, so fleetcost's side is
# fleetcost's own pricing, not the test's.
#
# Run 1 meets a 429 (waits the Retry-After, asks again) and then a page whose amount is a
# JSON number; run 2 a page cut off mid-way; run 3 a description over the reader's bound:
# each fails with a clear reason, is recorded as failed, and imports nothing. Run 4 backs
# off a 429 without Retry-After and succeeds: the variance is exactly 41,000,000 for
# globex 2026-12-02 and 0 for every other tenant-day. A real fleetcost-alerter fires the
# 'reconcile' alert once and notifies the operator once; run 5 replaces the import (no
# duplicates) and the alert is still one; run 6 meets a page over --max-page-bytes.
# When the missing request reaches fleetcost, run 7 matches and the alert resolves.
# GET /api/v1/reconcile of a real fleetcost-reporter serves the same table: a tenant key
# its own rows only, the admin key all of them, the unmapped cost included.
#   it_reconcile.sh <fleetcost> <fleetcost-alerter> <fleetcost-reporter> <source root>
fleetcost=${1:?usage: it_reconcile.sh <fleetcost> <fleetcost-alerter> <fleetcost-reporter> <source root>}
alerter=${2:?}
reporter=${3:?}
root=${4:?}
. "$(dirname "$0")/lib.sh"
it_setup reconcile
fixtures="$root/tests/fixtures/anthropic-admin"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# A private Redis standing in for the aggregators' (reprice removes their sentinels).
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$IT_TMP" \
  --daemonize yes --pidfile "$IT_TMP/redis.pid" >/dev/null || it_die "redis did not start"
server="" alerter_pid="" reporter_pid=""
cleanup() {
  [ -n "$alerter_pid" ] && kill "$alerter_pid" 2>/dev/null && wait "$alerter_pid" 2>/dev/null
  [ -n "$reporter_pid" ] && kill "$reporter_pid" 2>/dev/null && wait "$reporter_pid" 2>/dev/null
  [ -n "$server" ] && kill "$server" 2>/dev/null
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1
  it_cleanup
}
trap cleanup EXIT
export FLEETCOST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"

# fleetcost's side: the 14 stored events at cost 0, then priced by reprice. Plus one
# Bedrock request of globex on 12-02 (billed by AWS, never on Anthropic's bill) that the
# comparison must leave out.
q "$IT_URL" "SELECT fc_ensure_event_partitions('2026-12-01', '2026-12-03');
  INSERT INTO tenants (tenant_id) VALUES ('acme'), ('globex'), ('initech')" >/dev/null ||
  it_die "seed failed"
python3 - "$fixtures/fleetcost_events.jsonl" >"$IT_TMP/events.sql" <<'EOF' || it_die "cannot read the events"
import json, sys
print("INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type,"
      " request_id, model, input_tokens, output_tokens, cache_read_tokens,"
      " cache_write_5m_tokens, cache_write_1h_tokens, cost_nusd, cost_kind, ingest_id, seq)"
      " VALUES")
rows = []
for n, line in enumerate(open(sys.argv[1]), 1):
    e = json.loads(line)
    rows.append("('%s', timestamptz 'epoch' + %d * interval '1 microsecond', '%s', 'usage', '%s',"
                " '%s', '%s', '%s', %d, %d, %d, %d, %d, 0, 'usage', 'it', %d)" % (
                    e["id"], e["ts_us"], e["tenant"], e["agent"], e["agent_type"], e["request"],
                    e["model"], e["input_tokens"], e["output_tokens"], e["cache_read_tokens"],
                    e["cache_write_5m_tokens"], e["cache_write_1h_tokens"], n))
rows.append("(gen_random_uuid(), '2026-12-02 09:00:00+00', 'globex', 'usage', 'g-bedrock',"
            " 'claude-code', 'req_bedrock', 'us.anthropic.claude-opus-4-6-v1:0', 1000, 1000, 0, 0,"
            " 0, 0, 'usage', 'it', 99)")
print(",\n".join(rows) + ";")
EOF
q "$IT_URL" - <"$IT_TMP/events.sql" >/dev/null || it_die "cannot insert the events"
check "reprice prices the stored events" "$fleetcost" reprice --pg-url "$IT_URL" --from 2026-12-01 --to 2026-12-03
expect_eq "fleetcost per tenant and UTC day (README's fleetcost column)" \
  "$(q "$IT_URL" "SELECT string_agg(day || ' ' || tenant_id || ' ' || c, ',' ORDER BY day, tenant_id)
                  FROM (SELECT day, tenant_id, sum(cost_nusd) c
                          FROM fc_reconcile_fleetcost_days('{acme,globex}', '2026-12-01', '2026-12-03')
                         GROUP BY 1, 2) x")" \
  "2026-12-01 acme 69758750,2026-12-01 globex 209772000,2026-12-02 acme 214794500,2026-12-02 globex 204820750,2026-12-03 acme 44300600,2026-12-03 globex 249810000"

# The operator's workspace map (audited); a tenant that does not exist is refused.
for pair in wrkspc_01FcAcmeAgents000000000A:acme wrkspc_01FcGlobexAgents00000000B:globex; do
  check "map ${pair%%:*}" "$fleetcost" reconcile map --pg-url "$IT_URL" --workspace "${pair%%:*}" \
    --tenant "${pair#*:}" --actor it
done
expect_fail "a map to a missing tenant is refused" "no tenant nosuch" \
  "$fleetcost" reconcile map --pg-url "$IT_URL" --workspace wrkspc_x --tenant nosuch
expect_fail "a workspace id with odd characters is refused" "--workspace ID" \
  "$fleetcost" reconcile map --pg-url "$IT_URL" --workspace 'a b' --tenant acme
check "list shows the map" grep -Eq -- '^wrkspc_01FcGlobexAgents00000000B +globex ' \
  <<<"$("$fleetcost" reconcile list --pg-url "$IT_URL")"
expect_eq "map changes are audited" \
  "$(q "$IT_URL" "SELECT string_agg(actor || ' ' || action || ' ' || object || ' ' || (after->>'tenant'), ',' ORDER BY id) FROM audit_log WHERE action LIKE 'reconcile.%'")" \
  "it reconcile.map wrkspc_01FcAcmeAgents000000000A acme,it reconcile.map wrkspc_01FcGlobexAgents00000000B globex"

# The fake API and the operator's webhook.
port=$(free_port)
key="sk-ant-admin01-it-$RANDOM$RANDOM-secret"
retry_after=2
python3 "$(dirname "$0")/it_reconcile_server.py" "$port" "$IT_TMP/api.log" "$key" "$fixtures" \
  "$retry_after" &
server=$!
deadline=$((SECONDS + 60))
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
  [ $SECONDS -ge $deadline ] && it_die "the fake API did not start"
  sleep 0.05
done

# The alerter, watching for reconcile variances (any difference above 0 and 0%).
metrics=$(free_port)
"$alerter" --insecure --pg-url "$IT_URL" --aggregator-pub "tcp://127.0.0.1:$(free_port)" \
  --bind "tcp://127.0.0.1:$(free_port)" --operator-webhook "http://127.0.0.1:$port/hook/operator" \
  --eval-interval-ms 300 --metrics-port "$metrics" --reconcile-tolerance-nusd 0 \
  --reconcile-tolerance-pct 0 >"$IT_TMP/alerter.log" 2>&1 &
alerter_pid=$!

export FLEETCOST_ADMIN_KEY="$key"
rec() { "$fleetcost" reconcile --pg-url "$IT_URL" --admin-api-url "http://127.0.0.1:$port" \
  --from 2026-12-01 --to 2026-12-03 --page-limit 2 --backoff-s 1 "$@"; }
imported() { q "$IT_URL" "SELECT (SELECT count(*) FROM provider_costs) || ' ' || (SELECT count(*) FROM provider_usage) || ' ' || (SELECT count(*) FROM reconcile_variances)"; }

expect_fail "run 1: a page with a numeric amount fails the run, naming the field" \
  "run 1 failed: cost_report page 2: bucket 2026-12-03: result 1: amount is not a decimal string of cents; nothing imported for 2026-12-01..2026-12-03" rec --verbose
expect_eq "run 1 recorded as failed, after one rate-limit answer and a wait" \
  "$(q "$IT_URL" "SELECT status || ' ' || rate_limited || ' ' || (waited_ms >= $retry_after * 1000) || ' ' || pages FROM reconcile_runs WHERE run_id = 1")" \
  "failed 1 true 1"
limited=$(awk '$2 == "limited" && $3 == "http_429_retry_after.http" {print $1; exit}' "$IT_TMP/api.log")
retry=$(awk '$2 == "GET" && $3 ~ /cost_report/ && $3 !~ /page=/ && $5 == 200 {print $1; exit}' "$IT_TMP/api.log")
check "the worker waited Retry-After ($retry_after s) before asking for the page again ($limited -> $retry)" \
  python3 -c "import sys; sys.exit(0 if float('$retry') - float('$limited') >= $retry_after else 1)"
expect_eq "nothing imported by the failed run" "$(imported)" "0 0 0"

expect_fail "run 2: a page cut off mid-way fails the run" \
  "run 2 failed: cost_report page 2: not valid JSON" rec
expect_eq "still nothing imported" "$(imported)" "0 0 0"

expect_fail "run 3: a description over the reader's bound fails the run" \
  "run 3 failed: cost_report page 2: bucket 2026-12-03: result 4: description is not a string of at most 255 bytes" rec
expect_eq "still nothing imported" "$(imported)" "0 0 0"

run4=$(rec 2>&1)
expect_eq "run 4 succeeds" "$?" 0
# The usage report answered a 429 without Retry-After whose reset time is long past (the
# worker backed off, --backoff-s 1 with jitter), then one whose reset is 2 s ahead (it
# waited for that instant).
expect_eq "run 4 waited out two 429s without Retry-After" \
  "$(q "$IT_URL" "SELECT status || ' ' || rate_limited || ' ' || (waited_ms >= 2000) FROM reconcile_runs WHERE run_id = 4")" \
  "ok 2 true"
reset=$(awk '$2 == "reset" {print $3; exit}' "$IT_TMP/api.log")
after=$(awk '$2 == "GET" && $3 ~ /usage_report/ && $5 == 200 {print $1; exit}' "$IT_TMP/api.log")
check "the retry came at the announced reset time ($reset <= $after)" \
  python3 -c "import sys; sys.exit(0 if float('$after') >= float('${reset:-9e99}') else 1)"
check "runs lists the failed runs with their reasons" grep -Eq -- \
  '^1 +2026-12-01..2026-12-03 +failed .* cost_report page 2: bucket 2026-12-03: result 1: amount is not' \
  <<<"$("$fleetcost" reconcile runs --pg-url "$IT_URL")"
expect_eq "run 4 imported 39 cost rows, 11 usage rows, 6 tenant-days" "$(imported)" "39 11 6"
expect_eq "the variance table: 41,000,000 nano-USD for globex on 2026-12-02, 0 elsewhere" \
  "$(q "$IT_URL" "SELECT string_agg(day || ' ' || tenant_id || ' ' || bill_nusd || ' ' || fleetcost_nusd || ' ' || diff_nusd || ' ' || status, ',' ORDER BY day, tenant_id) FROM reconcile_latest")" \
  "2026-12-01 acme 69758750 69758750 0 match,2026-12-01 globex 209772000 209772000 0 match,2026-12-02 acme 214794500 214794500 0 match,2026-12-02 globex 245820750 204820750 41000000 bill_higher,2026-12-03 acme 44300600 44300600 0 match,2026-12-03 globex 249810000 249810000 0 match"
expect_eq "the bill's tokens exceed fleetcost's by the missing request's 32,000 only" \
  "$(q "$IT_URL" "SELECT string_agg(day || ' ' || tenant_id || ' ' || (bill_tokens - fleetcost_tokens), ',' ORDER BY day, tenant_id) FROM reconcile_latest WHERE bill_tokens <> fleetcost_tokens")" \
  "2026-12-02 globex 32000"
expect_eq "the model whose tokens differ is named, on that day only" \
  "$(q "$IT_URL" "SELECT string_agg(day || ' ' || tenant_id || ' ' || token_diffs, ',') FROM reconcile_latest WHERE token_diffs IS NOT NULL")" \
  "2026-12-02 globex claude-opus-4-6 +32000"
expect_eq "an exact import: trailing zeros and integer amounts" \
  "$(q "$IT_URL" "SELECT string_agg(amount_nusd::text, ' ' ORDER BY day) FROM provider_costs WHERE (day = '2026-12-01' AND workspace_id LIKE '%Globex%' AND token_type = 'output_tokens' AND model = 'claude-haiku-4-5') OR (day = '2026-12-03' AND workspace_id LIKE '%Globex%' AND model = 'claude-opus-4-6' AND token_type = 'cache_read_input_tokens')")" \
  "455000 60000000"

# The alert: fired once, delivered to the operator once.
alerts() { q "$IT_URL" "SELECT count(*) || ' ' || coalesce(string_agg(tenant_id || ' ' || period_key || ' ' || value_nusd || ' ' || state, ','), '') FROM cost_alerts WHERE kind = 'reconcile'"; }
hooks() { grep -c '^HOOK /hook/operator .*"kind":"reconcile"' "$IT_TMP/api.log"; }
deadline=$((SECONDS + 30))
until [ "$(hooks)" -ge 1 ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect_eq "one reconcile alert for globex 2026-12-02" "$(alerts)" "1 globex 2026-12-02 41000000 fired"
expect_eq "the operator was notified once" "$(hooks)" 1
check "the notice names the difference and the model" grep -q 'billed globex \$0.245820750 on 2026-12-02 (UTC), fleetcost computed \$0.204820750: \$0.041000000 more on the bill.* Tokens, bill - fleetcost: claude-opus-4-6 +32000\.' "$IT_TMP/api.log"

run5=$(rec 2>&1)
expect_eq "run 5 succeeds" "$?" 0
expect_eq "run 5 replaced the import (no duplicates) and kept run 4's variances" "$(imported)" "39 11 12"
expect_eq "the newest run is what is read" "$(q "$IT_URL" "SELECT min(run_id) || ' ' || count(*) FROM reconcile_latest")" "5 6"
# Let the alerter evaluate the new run a few times (its evaluation counter moves on).
evals() { curl -s "http://127.0.0.1:$metrics/metrics" | awk '/^fleetcost_alerter_evaluations_total/ {print $2}'; }
start=$(evals)
deadline=$((SECONDS + 30))
until [ "$(evals)" -ge $((${start:-0} + 9)) ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
check "the alerter evaluated after run 5" test "$(evals)" -ge $((${start:-0} + 9))
expect_eq "still one reconcile alert across two successful runs" "$(alerts)" "1 globex 2026-12-02 41000000 fired"
expect_eq "still one notice" "$(hooks)" 1

# The variance table as text and CSV.
table=$("$fleetcost" reconcile show --pg-url "$IT_URL" --from 2026-12-01 --to 2026-12-03)
check "show prints globex's difference in USD and by model" grep -Eq -- '^2026-12-02 +globex +0\.245820750 +0\.204820750 +0\.041000000 .* bill_higher +claude-opus-4-6 \+32000$' <<<"$table"
csv=$("$fleetcost" reconcile show --pg-url "$IT_URL" --from 2026-12-02 --to 2026-12-02 --tenant globex --csv)
expect_eq "CSV" "$(tr -d '\r' <<<"$csv")" "day,tenant,bill_nusd,fleetcost_nusd,diff_nusd,bill_tokens,fleetcost_tokens,status,run_id,token_diffs
2026-12-02,globex,245820750,204820750,41000000,190888,158888,bill_higher,5,claude-opus-4-6 +32000"

# A page longer than the reader accepts fails the run at once (no retries) and leaves
# the import of run 5 in force.
expect_fail "run 6: an answer over --max-page-bytes fails the run" \
  "run 6 failed: cost_report page 1: the answer is over --max-page-bytes \\(4096\\)" rec --max-page-bytes 4096
expect_eq "run 6 asked once and imported nothing" \
  "$(q "$IT_URL" "SELECT requests FROM reconcile_runs WHERE run_id = 6") $(imported) $(q "$IT_URL" "SELECT min(run_id) FROM reconcile_latest")" \
  "1 39 11 12 5"

# The report's section: the range's totals and the days that differ, in every format.
report() { "$fleetcost" report --pg-url "$IT_URL" --period range --from 2026-12-01 --to 2026-12-03 "$@"; }
expect_eq "report (JSON): globex's reconciliation section" \
  "$(report --tenant globex --format json | python3 -c 'import json, sys; x = json.load(sys.stdin)["reconcile"]; print(x["days"], x["differ"], x["bill_nusd"], x["fleetcost_nusd"], x["diff_nusd"], [(d["day"], d["diff_nusd"], d["status"]) for d in x["differences"]])')" \
  "3 1 705402750 664402750 41000000 [('2026-12-02', 41000000, 'bill_higher')]"
expect_eq "report (JSON): acme's days all match" \
  "$(report --tenant acme --format json | python3 -c 'import json, sys; x = json.load(sys.stdin)["reconcile"]; print(x["days"], x["differ"], x["diff_nusd"], x["differences"])')" \
  "3 0 0 []"
check "report (text) names the day that differs" grep -Eq -- \
  '^  2026-12-02 globex +bill \$0\.245820750  fleetcost \$0\.204820750  bill_higher \$0\.041000000  tokens: claude-opus-4-6 \+32000$' \
  <<<"$(report --tenant globex --format text)"
check "report (CSV) has a reconcile row" grep -q -- \
  '^reconcile,globex,2026-12-02,41000000,0.041000000,.*bill_higher bill_nusd=245820750 fleetcost_nusd=204820750 tokens: claude-opus-4-6 +32000' \
  <<<"$(report --tenant globex --format csv)"
check "report (HTML) has the section" grep -q -- \
  "<h2>Reconciliation with the provider&#39;s bill</h2><p>3 tenant-days (UTC) reconciled" \
  <<<"$(report --tenant globex --format html)"

# The API: GET /api/v1/reconcile (reader role, row-level security).
newkey() { "$fleetcost" key create --pg-url "$IT_URL" "$@" 2>/dev/null; }
ADMIN=$(newkey --admin --name it-admin)
GLOBEX=$(newkey --tenant globex)
ACME=$(newkey --tenant acme)
# Unmapped cost: the default workspace's, stored as the bill has it (tenant '' rows).
q "$IT_URL" "INSERT INTO reconcile_variances (tenant_id, day, run_id, provider, bill_nusd, fleetcost_nusd, diff_nusd, status)
  VALUES ('', '2026-12-02', 5, 'anthropic', 7, 0, 7, 'unmapped')" >/dev/null || it_die "cannot add an unmapped row"
rport=$(free_port)
base="http://127.0.0.1:$rport"
"$reporter" --insecure --aggregator-pub "" --http-port "$rport" --pg-reader-url "$IT_READER_URL" \
  2>"$IT_TMP/reporter.log" &
reporter_pid=$!
deadline=$((SECONDS + 60))
until curl -sf "$base/healthz" -o /dev/null; do
  [ $SECONDS -ge $deadline ] && it_die "reporter did not start: $(cat "$IT_TMP/reporter.log")"
  sleep 0.05
done
api() { curl -s --max-time 20 -o "$IT_TMP/body" -w '%{http_code}' -H "Authorization: Bearer $1" "$base$2"; }
days() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(",".join("%s %s %s %s" % (x["day"], x["tenant"] or "-", x["diff_nusd"], x["status"]) for x in d["days"]))' "$IT_TMP/body"; }
range="from=2026-12-01&to=2026-12-03"
expect_eq "globex's key: 200" "$(api "$GLOBEX" "/api/v1/reconcile?$range")" 200
expect_eq "globex's key sees globex's days only" "$(days)" \
  "2026-12-01 globex 0 match,2026-12-02 globex 41000000 bill_higher,2026-12-03 globex 0 match"
expect_eq "acme's key asking for globex: 403" "$(api "$ACME" "/api/v1/reconcile?$range&tenant=globex")" 403
expect_eq "acme's key: its own days, all matching" "$(api "$ACME" "/api/v1/reconcile?$range")$(days)" \
  "2002026-12-01 acme 0 match,2026-12-02 acme 0 match,2026-12-03 acme 0 match"
expect_eq "the admin key sees every row, the unmapped cost included" \
  "$(api "$ADMIN" "/api/v1/reconcile?from=2026-12-02&to=2026-12-02")$(days)" \
  "2002026-12-02 acme 0 match,2026-12-02 globex 41000000 bill_higher,2026-12-02 - 7 unmapped"
expect_eq "CSV from the API is the CLI's CSV" \
  "$(api "$GLOBEX" "/api/v1/reconcile?from=2026-12-02&to=2026-12-02&format=csv")$(cat "$IT_TMP/body")" "200$csv"
expect_eq "a bad range: 400" "$(api "$ADMIN" "/api/v1/reconcile?from=2026-12-03&to=2026-12-01")" 400
expect_eq "an unknown parameter: 400" "$(api "$ADMIN" "/api/v1/reconcile?$range&x=1")" 400
expect_eq "no key: 401" "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/reconcile")" 401

# The Admin key is a secret: sent to the API, never printed.
check "every API request carried the key (no 401 after start-up)" \
  bash -c '! grep -q "/v1/.* -> 401" "$1"' _ "$IT_TMP/api.log"
all_out="$run4 $run5 $(cat "$IT_TMP/alerter.log") $(q "$IT_URL" "SELECT string_agg(coalesce(error, ''), ' ') FROM reconcile_runs")"
check "the key appears in no output, log or stored error" bash -c '! grep -qF -- "$1" <<<"$2"' _ "$key" "$all_out"
expect_fail "no key, no run" "Admin API key is required" env -u FLEETCOST_ADMIN_KEY "$fleetcost" \
  reconcile --pg-url "$IT_URL" --once
expect_fail "a key that would add a header line is refused" "printable characters without spaces" \
  env FLEETCOST_ADMIN_KEY=$'k\r\nx-evil: 1' "$fleetcost" reconcile --pg-url "$IT_URL" --once

# The missing request reaches fleetcost (say the unwatched host is now watched, its
# events replayed): the next run matches, and the alerter resolves the alert.
q "$IT_URL" "INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id, agent_type,
    request_id, model, input_tokens, output_tokens, cache_read_tokens, cost_nusd, cost_kind,
    ingest_id, seq) VALUES (gen_random_uuid(), '2026-12-02 17:31:09+00', 'globex', 'usage',
    'globex-agent-3', 'claude-code', 'req_late', 'claude-opus-4-6', 1200, 800, 30000, 0, 'usage',
    'it', 100)" >/dev/null || it_die "cannot add the late event"
check "reprice prices it" "$fleetcost" reprice --pg-url "$IT_URL" --from 2026-12-02 --to 2026-12-02 --tenant globex
check "run 7 succeeds" rec
expect_eq "globex 2026-12-02 now matches, tokens too" \
  "$(q "$IT_URL" "SELECT diff_nusd || ' ' || status || ' ' || coalesce(token_diffs, '-') FROM reconcile_latest WHERE tenant_id = 'globex' AND day = '2026-12-02'")" "0 match -"
resolved() { grep -c '^HOOK /hook/operator .*"kind":"reconcile".*"state":"resolved"' "$IT_TMP/api.log"; }
deadline=$((SECONDS + 30))
until [ "$(resolved)" -ge 1 ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect_eq "the alert is resolved, once" "$(alerts) $(resolved)" "1 globex 2026-12-02 41000000 resolved 1"

# A run whose process was killed stays 'running' in reconcile_runs until the next run,
# which holds the run lock and so knows that no one else is running: it records the
# row as failed (abandoned) and says so in its log.
stale=$(q "$IT_URL" "INSERT INTO reconcile_runs (from_day, to_day) VALUES ('2026-12-01', '2026-12-03') RETURNING run_id")
out=$(rec 2>&1)
check "the next run succeeds after a killed run" test $? -eq 0
expect_eq "the killed run is recorded as failed, abandoned" \
  "$(q "$IT_URL" "SELECT status || ' ' || (finished_at IS NOT NULL) || ' ' || (error LIKE 'abandoned:%') FROM reconcile_runs WHERE run_id = $stale")" \
  "failed true true"
check "its log says an earlier run never finished" grep -q "1 earlier run(s) never finished (first: run $stale)" <<<"$out"
expect_eq "no run is left 'running'" "$(q "$IT_URL" "SELECT count(*) FROM reconcile_runs WHERE status = 'running'")" 0

# History: run 4's rows are superseded (runs 5, 7 and 8 covered the same days). Once run
# 4 is older than --keep-history-days, the next run drops them; the newest row of every
# tenant-day stays, the unmapped row of run 5 included.
latest() { q "$IT_URL" "SELECT string_agg(tenant_id || ' ' || day || ' ' || CASE WHEN run_id = $1 THEN 'newest' ELSE run_id::text END, ',' ORDER BY tenant_id, day) FROM reconcile_latest"; }
newest_run() { q "$IT_URL" "SELECT max(run_id) FROM reconcile_runs"; }
latest_before=$(latest "$(newest_run)")
q "$IT_URL" "UPDATE reconcile_runs SET finished_at = now() - interval '31 days' WHERE run_id = 4" >/dev/null
check "the next run succeeds" rec --keep-history-days 30
expect_eq "run 4's superseded rows are dropped, run 5's (30 days) kept" \
  "$(q "$IT_URL" "SELECT (SELECT count(*) FROM reconcile_variances WHERE run_id = 4) || ' ' || (SELECT count(*) > 0 FROM reconcile_variances WHERE run_id = 5)")" \
  "0 true"
expect_eq "reconcile_latest is the same rows, the newest run's where the previous run's were" \
  "$(latest "$(newest_run)")" "$latest_before"
check "reconcile_latest still has the unmapped row of run 5" grep -q " 2026-12-02 5" <<<"$latest_before"

# unmap: audited; an unmapped workspace's cost would now show as unmapped.
check "unmap acme's workspace" "$fleetcost" reconcile unmap --pg-url "$IT_URL" \
  --workspace wrkspc_01FcAcmeAgents000000000A --actor it
expect_eq "unmap is audited with the tenant it had" \
  "$(q "$IT_URL" "SELECT actor || ' ' || object || ' ' || (before->>'tenant') FROM audit_log WHERE action = 'reconcile.unmap'")" \
  "it wrkspc_01FcAcmeAgents000000000A acme"
check "unmapping it again says so" grep -q "was not mapped" \
  <<<"$("$fleetcost" reconcile unmap --pg-url "$IT_URL" --workspace wrkspc_01FcAcmeAgents000000000A)"
it_done
