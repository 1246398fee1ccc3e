#!/usr/bin/env bash
# sec_otlp: attacks on fleetcost-otlp, with ingest in secure mode (the deployment's
# shape: fleetcost-otlp signs with the operator certificate, so it alone decides the
# tenant). Each attack must fail with nothing stored:
#   - no token (the $75,000 victim-probe request of issue #15): 401, nothing stored,
#     no tenant created, counted in fleetcost_otlp_http_unauthorized_total;
#   - a wrong secret, a malformed token, another scheme, a reporter API key: 401;
#   - tenant acme's token with tenant.id=beta: the record refused and counted
#     (records_foreign_tenant_total), nothing stored for beta, acme's record beside it
#     stored; without tenant.id the record is acme's;
#   - acme's token after `key revoke`: 401 within the refresh interval;
#   - an operator token naming a tenant nobody registered: ingest refuses it (code 17),
#     dead-lettered, the tenant not created;
#   - an OTLP token presented to the reporter's API: 401 (the scopes are separate doors).
#   sec_otlp.sh <fleetcost> <fleetcost-ingest> <fleetcost-otlp> <fleetcost-reporter>
fleetcost=${1:?usage: sec_otlp.sh <fleetcost> <fleetcost-ingest> <fleetcost-otlp> <fleetcost-reporter>}
ingest=${2:?}
otlp=${3:?}
reporter=${4:?}
. "$(dirname "$0")/common.sh"
it_setup sec_otlp
trap 'sec_stop_all; it_cleanup' EXIT
command -v curl >/dev/null || it_die "curl is not installed"

sec_ingest sec-otlp
for t in acme beta; do
  "$fleetcost" tenant set --pg-url "$IT_URL" --tenant "$t" --actor sec >/dev/null || it_die "tenant set $t"
done
acme_token=$("$fleetcost" key create --pg-url "$IT_URL" --tenant acme --scope otlp 2>"$IT_TMP/key.err") ||
  it_die "key create: $(cat "$IT_TMP/key.err")"
op_token=$("$fleetcost" key create --pg-url "$IT_URL" --admin --scope otlp 2>/dev/null) || it_die "key create --admin"
api_key=$("$fleetcost" key create --pg-url "$IT_URL" --tenant acme 2>/dev/null) || it_die "key create (api)"
acme_id=$(cut -d_ -f2 <<<"$acme_token")

read -r http metrics <<<"$(free_ports 2)"
"$otlp" --pg-url "$IT_URL" --cert-dir "$CERTS" --http-port "$http" --metrics-port "$metrics" \
  --ingest-endpoints "$INGEST_EP" --spool-dir "$IT_TMP/spool" --token-refresh-ms 300 \
  2>"$IT_TMP/otlp.log" &
SEC_PIDS+=($!)
url="http://127.0.0.1:$http/v1/logs"
tokens_loaded() { [ "$(metric "$metrics" fleetcost_otlp_ingest_tokens)" = 2 ]; }
until_ok 20 tokens_loaded || { cat "$IT_TMP/otlp.log" >&2; it_die "fleetcost-otlp did not load its tokens"; }

# resource <tenant.id or ""> <request id> <output tokens>: a resourceLogs element with
# one claude_code.api_request; body <same>: a whole request of one.
resource() {
  local attr=""
  [ -n "$1" ] && attr="{\"key\":\"tenant.id\",\"value\":{\"stringValue\":\"$1\"}}"
  printf '{"resource":{"attributes":[%s]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"%s000000000","body":{"stringValue":"claude_code.api_request"},"attributes":[{"key":"session.id","value":{"stringValue":"s-%s"}},{"key":"request_id","value":{"stringValue":"%s"}},{"key":"model","value":{"stringValue":"claude-opus-4-1"}},{"key":"output_tokens","value":{"intValue":"%s"}}]}]}]}' \
    "$attr" "$(date +%s)" "$2" "$2" "$3"
}
body() { printf '{"resourceLogs":[%s]}' "$(resource "$@")"; }
# post <json> [curl args...]: the status on stdout, the body in $IT_TMP/resp, headers in $IT_TMP/hdr.
post() {
  local json=$1
  shift
  curl -sS -o "$IT_TMP/resp" -D "$IT_TMP/hdr" -w '%{http_code}' -H 'Content-Type: application/json' \
    "$@" --data-binary "$json" "$url"
}
events() { q "$IT_URL" "SELECT count(*) FROM events WHERE $1"; }
tenant_exists() { q "$IT_URL" "SELECT count(*) FROM tenants WHERE tenant_id = '$1'"; }

# --- no token: the issue's request -----------------------------------------------------
probe=$(body victim-probe probe-1 1000000000)
expect_eq "unauthenticated POST (tenant.id=victim-probe, 1e9 opus tokens): 401" "$(post "$probe")" 401
check "... names the Bearer scheme (WWW-Authenticate)" grep -qi '^WWW-Authenticate: Bearer' "$IT_TMP/hdr"
check "... with a google.rpc.Status UNAUTHENTICATED" grep -q '"code":16' "$IT_TMP/resp"
expect_eq "... counted" "$(metric "$metrics" fleetcost_otlp_http_unauthorized_total)" 1

# --- bad tokens ---------------------------------------------------------------------------
wrong="fck_${acme_id}_$(printf '%064d' 0)"
expect_eq "acme's key id with a wrong secret: 401" "$(post "$probe" -H "Authorization: Bearer $wrong")" 401
expect_eq "a malformed token: 401" "$(post "$probe" -H "Authorization: Bearer ${acme_token}x")" 401
expect_eq "the right token under another scheme: 401" "$(post "$probe" -H "Authorization: Basic $acme_token")" 401
expect_eq "a reporter API key of acme (scope api): 401" "$(post "$probe" -H "Authorization: Bearer $api_key")" 401
expect_eq "an empty Bearer: 401" "$(post "$probe" -H "Authorization: Bearer ")" 401
expect_eq "all six counted" "$(metric "$metrics" fleetcost_otlp_http_unauthorized_total)" 6
check "the log never prints a token" bash -c "! grep -q -e '$acme_id' -e fck_ '$IT_TMP/otlp.log'"

# --- acme's token naming beta -------------------------------------------------------------
mixed="{\"resourceLogs\":[$(resource beta cross-1 5),$(resource acme own-1 7)]}"
expect_eq "acme's token, one record for beta and one for acme: 200" \
  "$(post "$mixed" -H "Authorization: Bearer $acme_token")" 200
expect_eq "... partialSuccess rejects the beta record, saying why" \
  "$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["partialSuccess"]
print(p["rejectedLogRecords"], "other than the token" in p["errorMessage"])' "$IT_TMP/resp")" "1 True"
expect_eq "... counted in records_foreign_tenant_total" \
  "$(metric "$metrics" fleetcost_otlp_records_foreign_tenant_total)" 1
own_stored() { [ "$(events "request_id = 'own-1'")" = 1 ]; }
check "acme's record beside it is stored" until_ok 30 own_stored
expect_eq "... as acme's" "$(q "$IT_URL" "SELECT tenant_id FROM events WHERE request_id = 'own-1'")" acme
expect_eq "nothing stored for beta" "$(events "tenant_id = 'beta'")" 0
check "the refusal is logged, naming the token's tenant" grep -q 'token of tenant acme: 1 records naming another tenant refused' "$IT_TMP/otlp.log"
expect_eq "no tenant.id: the token's tenant" "$(post "$(body "" plain-1 3)" -H "Authorization: Bearer $acme_token")" 200
plain_stored() { [ "$(q "$IT_URL" "SELECT tenant_id FROM events WHERE request_id = 'plain-1'")" = acme ]; }
check "... stored as acme's" until_ok 30 plain_stored

# --- an operator token naming a tenant nobody registered ------------------------------
expect_eq "operator token, tenant.id=victim-probe: accepted by fleetcost-otlp" \
  "$(post "$probe" -H "Authorization: Bearer $op_token")" 200
dead() { [ "$(q "$IT_URL" "SELECT count(*) FROM dead_letters WHERE code = 'tenant' AND tenant_id = 'victim-probe'")" = 1 ]; }
check "... refused by ingest (code 17, tenant) and dead-lettered" until_ok 30 dead
expect_eq "... nothing stored for it" "$(events "tenant_id = 'victim-probe'")" 0
expect_eq "... and the tenant not created" "$(tenant_exists victim-probe)" 0
expect_eq "operator token naming beta: 200" "$(post "$(body beta op-1 2)" -H "Authorization: Bearer $op_token")" 200
op_stored() { [ "$(q "$IT_URL" "SELECT tenant_id FROM events WHERE request_id = 'op-1'")" = beta ]; }
check "... stored as beta's (an operator may name tenants)" until_ok 30 op_stored

# --- the other door: the reporter's API --------------------------------------------------
rport=$(free_ports 1)
"$reporter" --insecure --aggregator-pub "" --http-port "$rport" --pg-reader-url "$IT_READER_URL" \
  2>"$IT_TMP/reporter.log" &
SEC_PIDS+=($!)
healthy() { curl -sf -o /dev/null "http://127.0.0.1:$rport/healthz"; }
until_ok 20 healthy || { cat "$IT_TMP/reporter.log" >&2; it_die "reporter did not start"; }
api_status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "http://127.0.0.1:$rport/api/v1/tenants"; }
expect_eq "the reporter refuses acme's OTLP token (401)" "$(api_status "$acme_token")" 401
expect_eq "... and accepts acme's API key (200)" "$(api_status "$api_key")" 200

# --- revocation ---------------------------------------------------------------------------
"$fleetcost" key revoke --pg-url "$IT_URL" --id "$acme_id" >/dev/null || it_die "key revoke failed"
expect_eq "the revocation is audited" \
  "$(q "$IT_URL" "SELECT count(*) FROM audit_log WHERE action = 'key.revoke' AND object = '$acme_id'")" 1
# Until the next refresh (300 ms here) the token may still be honoured; these probes
# carry their own request ids so that they do not count below.
n=0
revoked() { n=$((n + 1)); [ "$(post "$(body acme "pre-$n" 1)" -H "Authorization: Bearer $acme_token")" = 401 ]; }
check "acme's revoked token: 401 within the refresh interval" until_ok 10 revoked
expect_eq "... and from then on" "$(post "$(body acme late-1 1)" -H "Authorization: Bearer $acme_token")" 401
expect_eq "... nothing stored from it" "$(events "request_id = 'late-1'")" 0
expect_eq "no events at all from the unauthenticated requests" "$(events "request_id LIKE 'probe-%'")" 0
expect_eq "audit_log shows each token's creation with its scope" \
  "$(q "$IT_URL" "SELECT string_agg(after->>'scope', ',' ORDER BY id) FROM audit_log WHERE action = 'key.create'")" "otlp,otlp,api"
it_done
