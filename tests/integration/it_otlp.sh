#!/usr/bin/env bash
# it_otlp: fleetcost-otlp between curl (standing in for Claude Code's OTLP/HTTP JSON log
# exporter) and a real fleetcost-ingest with a fresh database. A request of the
# documented shape (two resources: tenants acme and beta; three claude_code.api_request
# records, one of them recognised by event.name alone; one user_prompt) must store exactly
# the three usage events, with their tokens, model, session, exact reported cost in
# nano-USD and tenant; posting it again must store nothing new (deterministic ids). Then
# the refusals: bad JSON 400, wrong content type 415, too large 413 (with and without
# Content-Length), a record without a tenant counted in partialSuccess, 404 and 405.
# Requests carry an operator OTLP ingest token (key create --admin --scope otlp), which
# may name tenants; tenant tokens and the attacks on them are in tests/security/sec_otlp.sh.
# Last, the speed attribute: a fast request is stored with its speed and priced at the
# model's fast-mode rates.
#   it_otlp.sh <fleetcost> <fleetcost-ingest> <fleetcost-otlp>
fleetcost=${1:?usage: it_otlp.sh <fleetcost> <fleetcost-ingest> <fleetcost-otlp>}
ingest=${2:?}
otlp=${3:?}
. "$(dirname "$0")/lib.sh"
it_setup otlp
command -v curl >/dev/null || it_die "curl is missing: Debian package curl (scripts/deps.sh installs it)"

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
op_token=$("$fleetcost" key create --admin --scope otlp --name it-otlp --pg-url "$IT_URL" 2>/dev/null) ||
  it_die "key create --scope otlp failed"
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(4)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r port pub imetrics http <<<"$ports"
"$ingest" --insecure --pg-url "$IT_URL" --bind "tcp://127.0.0.1:$port" \
  --pub-bind "tcp://127.0.0.1:$pub" --ingest-id it-otlp --metrics-port "$imetrics" \
  2>"$IT_TMP/ingest.log" &
ingest_pid=$!
# No --cert: the libfleetcost client talks plaintext to the --insecure ingest.
"$otlp" --insecure --pg-url "$IT_URL" --http-port "$http" --ingest-endpoints "tcp://127.0.0.1:$port" \
  --spool-dir "$IT_TMP/spool" --max-body 65536 --metrics-port 0 2>"$IT_TMP/otlp.log" &
otlp_pid=$!
trap 'kill $otlp_pid $ingest_pid 2>/dev/null; wait $otlp_pid $ingest_pid 2>/dev/null; it_cleanup' EXIT
url="http://127.0.0.1:$http/v1/logs"

# until <seconds> <command...>: polls the command every 0.2 s until it succeeds.
until_ok() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
listening() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" != 000 ]; }
until_ok 20 listening || { cat "$IT_TMP/otlp.log"; it_die "fleetcost-otlp did not start"; }

# post <file> [content type] [curl args...]: the status on stdout, the body in $IT_TMP/resp.
post() {
  local file=$1 type=${2:-application/json}
  shift $(($# < 2 ? $# : 2))
  curl -sS -o "$IT_TMP/resp" -w '%{http_code}' -H "Content-Type: $type" \
    -H "Authorization: Bearer $op_token" "$@" \
    --data-binary "@$file" "$url"
}
stored_count() { q "$IT_URL" "SELECT count(*) FROM events WHERE event_type = 'usage'"; }
ingest_metric() {
  curl -s "http://127.0.0.1:$imetrics/metrics" | awk -v m="fleetcost_ingest_$1" '$1 == m {print $2}'
}

# --- the documented shape ---------------------------------------------------------------
now=$(date +%s)
t1="$((now - 120))123456789" t2="$((now - 119))000000000" t3="$((now - 60))000000000"
cat >"$IT_TMP/logs.json" <<EOF
{"resourceLogs":[
 {"resource":{"attributes":[
   {"key":"service.name","value":{"stringValue":"claude-code"}},
   {"key":"host.name","value":{"stringValue":"it-host"}},
   {"key":"tenant.id","value":{"stringValue":"acme"}},
   {"key":"department","value":{"stringValue":"platform"}}]},
  "scopeLogs":[{"scope":{"name":"com.anthropic.claude_code.events","version":"2.0.0"},
   "logRecords":[
    {"timeUnixNano":"$t1","observedTimeUnixNano":"$t1",
     "body":{"stringValue":"claude_code.api_request"},
     "attributes":[
      {"key":"event.name","value":{"stringValue":"api_request"}},
      {"key":"event.timestamp","value":{"stringValue":"2026-11-27T09:00:00.123Z"}},
      {"key":"event.sequence","value":{"intValue":"3"}},
      {"key":"session.id","value":{"stringValue":"sess-a"}},
      {"key":"user.account_uuid","value":{"stringValue":"acct-1"}},
      {"key":"terminal.type","value":{"stringValue":"vscode"}},
      {"key":"model","value":{"stringValue":"claude-sonnet-4-5-20250929"}},
      {"key":"input_tokens","value":{"stringValue":"1200"}},
      {"key":"output_tokens","value":{"stringValue":"345"}},
      {"key":"cache_read_tokens","value":{"stringValue":"50000"}},
      {"key":"cache_creation_tokens","value":{"stringValue":"2048"}},
      {"key":"cost_usd","value":{"stringValue":"0.0123456789"}},
      {"key":"duration_ms","value":{"stringValue":"2345"}},
      {"key":"request_id","value":{"stringValue":"req_it_1"}}]},
    {"timeUnixNano":"$t2","body":{"stringValue":"claude_code.user_prompt"},
     "attributes":[{"key":"event.name","value":{"stringValue":"user_prompt"}},
      {"key":"session.id","value":{"stringValue":"sess-a"}},
      {"key":"prompt_length","value":{"intValue":"42"}}]},
    {"timeUnixNano":"$t2",
     "attributes":[
      {"key":"event.name","value":{"stringValue":"api_request"}},
      {"key":"event.timestamp","value":{"stringValue":"2026-11-27T09:00:01.000Z"}},
      {"key":"event.sequence","value":{"intValue":5}},
      {"key":"session.id","value":{"stringValue":"sess-a"}},
      {"key":"model","value":{"stringValue":"claude-haiku-4-5"}},
      {"key":"input_tokens","value":{"intValue":"10"}},
      {"key":"output_tokens","value":{"intValue":20}},
      {"key":"cost_usd","value":{"doubleValue":0.000125}}]}]}]},
 {"resource":{"attributes":[{"key":"tenant.id","value":{"stringValue":"beta"}}]},
  "scopeLogs":[{"logRecords":[
    {"timeUnixNano":"$t3","body":{"stringValue":"claude_code.api_request"},
     "attributes":[
      {"key":"session.id","value":{"stringValue":"sess-b"}},
      {"key":"model","value":{"stringValue":"claude-opus-4-1"}},
      {"key":"input_tokens","value":{"intValue":"3"}},
      {"key":"output_tokens","value":{"intValue":"4"}},
      {"key":"cache_creation_tokens","value":{"intValue":"100"}},
      {"key":"cost_usd","value":{"stringValue":"1.5e-3"}},
      {"key":"request_id","value":{"stringValue":"req_it_2"}}]}]}]}
]}
EOF
expect_eq "the documented request is accepted" "$(post "$IT_TMP/logs.json")" 200
expect_eq "... with an empty partialSuccess" "$(cat "$IT_TMP/resp")" '{"partialSuccess":{}}'
has3() { [ "$(stored_count)" = 3 ]; }
check "three usage events reach Postgres" until_ok 30 has3
expect_eq "tenant, session, agent, model, request, tokens, exact cost, duration, attrs" \
  "$(q "$IT_URL" "SELECT tenant_id, session_id, agent_id, agent_type, model, request_id,
                         input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
                         cache_write_1h_tokens, reported_cost_nusd, api_duration_ms,
                         attrs->>'source', attrs->>'department', attrs->>'user.account_uuid'
                    FROM events WHERE event_type = 'usage' ORDER BY tenant_id, event_time")" \
  "acme|sess-a|sess-a|claude-code|claude-sonnet-4-5-20250929|req_it_1|1200|345|50000|2048|0|12345679|2345|claude-code-otlp|platform|acct-1
acme|sess-a|sess-a|claude-code|claude-haiku-4-5||10|20|0|0|0|125000||claude-code-otlp|platform|
beta|sess-b|sess-b|claude-code|claude-opus-4-1|req_it_2|3|4|0|100|0|1500000||claude-code-otlp||"
expect_eq "event time is timeUnixNano (to the microsecond)" \
  "$(q "$IT_URL" "SELECT (extract(epoch FROM event_time) * 1000000)::bigint FROM events
                   WHERE request_id = 'req_it_1'")" "${t1:0:16}"
expect_eq "the user_prompt record stored nothing" \
  "$(q "$IT_URL" "SELECT count(*) FROM events WHERE event_type <> 'usage'")" 0

# --- an exporter retry ----------------------------------------------------------------------
expect_eq "the same request again is accepted" "$(post "$IT_TMP/logs.json")" 200
dup3() { [ "$(ingest_metric events_duplicate_total)" = 3 ]; }
check "ingest absorbs all three as duplicates" until_ok 30 dup3
expect_eq "still three usage events" "$(stored_count)" 3

# --- refusals -----------------------------------------------------------------------------------
echo '{"resourceLogs":[' >"$IT_TMP/bad.json"
expect_eq "bad JSON: 400" "$(post "$IT_TMP/bad.json")" 400
check "... with a google.rpc.Status naming the problem" \
  grep -q '"code":3,"message":"not an OTLP JSON logs request: ' "$IT_TMP/resp"
expect_eq "protobuf: 415" "$(post "$IT_TMP/logs.json" application/x-protobuf)" 415
check "... saying JSON only" grep -q 'only application/json' "$IT_TMP/resp"
expect_eq "no content type: 415" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type:' \
  --data-binary "@$IT_TMP/logs.json" "$url")" 415
expect_eq "JSON with a charset: accepted" "$(post "$IT_TMP/logs.json" 'application/json; charset=utf-8')" 200
expect_eq "gzip: 415" "$(post "$IT_TMP/logs.json" '' -H 'Content-Encoding: gzip')" 415
head -c 70000 /dev/zero | tr '\0' ' ' >"$IT_TMP/big.json"
expect_eq "over --max-body: 413" "$(post "$IT_TMP/big.json")" 413
expect_eq "over --max-body, chunked (no Content-Length): 413" \
  "$(post "$IT_TMP/big.json" '' -H 'Transfer-Encoding: chunked')" 413
expect_eq "GET: 405" "$(curl -s -o /dev/null -w '%{http_code}' "$url")" 405
expect_eq "another path: 404" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' \
    "http://127.0.0.1:$http/v1/traces")" 404

sed -e 's/"tenant.id"/"team.id"/' -e 's/req_it_/req_nt_/' "$IT_TMP/logs.json" >"$IT_TMP/notenant.json"
expect_eq "records without a tenant: the request is still 200" "$(post "$IT_TMP/notenant.json")" 200
expect_eq "... and the rejected count says which" \
  "$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["partialSuccess"]
print(p["rejectedLogRecords"], "no tenant" in p["errorMessage"])' "$IT_TMP/resp")" "3 True"
expect_eq "... none of them stored" "$(stored_count)" 3

# --- fast mode: the api_request's speed attribute is honoured ---------------------------------------
# Two Opus 4.6 requests of 1000 input and 200 output tokens, one fast, one "normal". By hand,
# at the catalog of migration 0013 ($5 / $25 per MTok, fast mode 6x):
#   standard 1000*5000 + 200*25000 = 10,000,000; fast 6 * 10,000,000 = 60,000,000 nano-USD.
fast_rec() { # <request id> <speed> <time ns> [model]
  cat <<JSON
{"timeUnixNano":"$3","attributes":[
  {"key":"event.name","value":{"stringValue":"api_request"}},
  {"key":"session.id","value":{"stringValue":"sess-f"}},
  {"key":"request_id","value":{"stringValue":"$1"}},
  {"key":"model","value":{"stringValue":"${4:-claude-opus-4-6}"}},
  {"key":"speed","value":{"stringValue":"$2"}},
  {"key":"input_tokens","value":{"intValue":"1000"}},
  {"key":"output_tokens","value":{"intValue":"200"}}]}
JSON
}
tf=$(( $(date +%s) * 1000000000 ))
cat >"$IT_TMP/fast.json" <<JSON
{"resourceLogs":[{"resource":{"attributes":[{"key":"tenant.id","value":{"stringValue":"acme"}}]},
 "scopeLogs":[{"logRecords":[$(fast_rec req_fast fast "$tf"),$(fast_rec req_std normal "$((tf + 1000))"),
   $(fast_rec req_haiku fast "$((tf + 2000))" claude-haiku-4-5)]}]}]}
JSON
expect_eq "fast and standard requests are accepted" "$(post "$IT_TMP/fast.json")" 200
has6() { [ "$(stored_count)" = 6 ]; }
check "all three reach Postgres" until_ok 30 has6
# Haiku has no fast-mode price: stored, unpriced (alerted as such), never priced as standard.
expect_eq "speed stored; fast mode priced at 6x the standard rates; no fast price, unpriced" \
  "$(q "$IT_URL" "SELECT request_id, speed, cost_nusd, unpriced FROM events
                   WHERE session_id = 'sess-f' ORDER BY request_id")" \
  "req_fast|fast|60000000|f
req_haiku|fast|0|t
req_std|standard|10000000|f"
check "ingest says which rule left it unpriced" \
  grep -q "claude-haiku-4-5 usage stored unpriced: no fast-mode price for this model" "$IT_TMP/ingest.log"

# --- shutdown -------------------------------------------------------------------------------------
kill -TERM $otlp_pid
wait $otlp_pid
expect_eq "SIGTERM: fleetcost-otlp exits 0" $? 0
check "... with nothing left in the spool" grep -q ' 0 left in the spool' "$IT_TMP/otlp.log"
it_done
