#!/usr/bin/env bash
# sec_tenants: in secure mode a tenant exists only when an operator registered it
# (fleetcost tenant set). An event for an unregistered tenant, sent with the operator
# certificate or with a certificate made for that tenant (cert create --tenant does not
# register it), is refused with code 17 (tenant), dead-lettered, and creates nothing;
# a valid event beside it in the same batch is stored. Once registered, the tenant's
# events are stored. Secure mode refuses --register-tenants true; plaintext (development)
# mode still registers unknown tenants by default (auto_created).
#   sec_tenants.sh <fleetcost> <fleetcost-ingest>
fleetcost=${1:?usage: sec_tenants.sh <fleetcost> <fleetcost-ingest>}
ingest=${2:?}
. "$(dirname "$0")/common.sh"
it_setup sec_tenants
trap 'sec_stop_all; it_cleanup' EXIT

sec_ingest sec-tenants
"$fleetcost" tenant set --pg-url "$IT_URL" --tenant acme --actor sec >/dev/null || it_die "tenant set acme"
"$fleetcost" cert create --cert-dir "$CERTS" --pg-url "$IT_URL" --tenant ghost2 --name host-ghost2 \
  --actor cert-sec >/dev/null 2>&1 || it_die "cert create failed"
expect_eq "cert create is audited under --actor, as every audited command" \
  "$(q "$IT_URL" "SELECT actor || ' ' || (after->>'tenant') FROM audit_log WHERE action = 'cert.create' AND object = 'host-ghost2'")" \
  "cert-sec ghost2"

# emit_as <cert> <emit args...>: fleetcost emit through the secure ingest; output in $out.
emit_as() {
  local cert=$1
  shift
  out=$("$fleetcost" emit "$@" --ingest-endpoints "$INGEST_EP" --spool-dir "$IT_TMP/spool-$RANDOM" --timeout-ms 20000 \
    --cert "$cert" --server-cert "$CERTS/server.cert" 2>&1)
}
tenant_exists() { q "$IT_URL" "SELECT count(*) FROM tenants WHERE tenant_id = '$1'"; }
dead() { q "$IT_URL" "SELECT count(*) FROM dead_letters WHERE code = 'tenant' AND tenant_id = '$1'"; }

emit_as "$CERTS/operator.cert" usage --tenant ghost --agent a1 --model claude-opus-4-1 --output-tokens 1000000000
expect_eq "operator certificate, unregistered tenant ghost: emit exits 1" $? 1
check "... rejected with code 17 (tenant), saying the tenant is unknown" \
  grep -q -- "rejected: tenant tenant: unknown tenant 'ghost'" <<<"$out"
expect_eq "... dead-lettered" "$(dead ghost)" 1
expect_eq "... the tenant not created" "$(tenant_exists ghost)" 0
expect_eq "... no event stored" "$(q "$IT_URL" "SELECT count(*) FROM events WHERE tenant_id = 'ghost'")" 0

emit_as "$CERTS/host-ghost2.cert" usage --tenant ghost2 --agent g2 --model claude-opus-4-1 --output-tokens 5
expect_eq "ghost2's own certificate (cert create --tenant registers no tenant): emit exits 1" $? 1
check "... code 17" grep -q -- "rejected: tenant tenant:" <<<"$out"
expect_eq "... dead-lettered" "$(dead ghost2)" 1
expect_eq "... ghost2 not created" "$(tenant_exists ghost2)" 0

printf '%s\n' '{"type":"usage","tenant":"acme","agent":"a","model":"claude-opus-4-1","output_tokens":3,"request":"ok-1"}' \
  '{"type":"usage","tenant":"ghost3","agent":"a","model":"claude-opus-4-1","output_tokens":3,"request":"bad-1"}' \
  >"$IT_TMP/batch.ndjson"
out=$("$fleetcost" emit --stdin --ingest-endpoints "$INGEST_EP" --spool-dir "$IT_TMP/spool-batch" --timeout-ms 20000 \
  --cert "$CERTS/operator.cert" --server-cert "$CERTS/server.cert" <"$IT_TMP/batch.ndjson" 2>&1)
expect_eq "a batch with a registered and an unregistered tenant: emit exits 1" $? 1
expect_eq "... the registered tenant's event is stored" \
  "$(q "$IT_URL" "SELECT tenant_id FROM events WHERE request_id = 'ok-1'")" acme
expect_eq "... the other dead-lettered, its tenant not created" "$(dead ghost3) $(tenant_exists ghost3)" "1 0"

"$fleetcost" tenant set --pg-url "$IT_URL" --tenant ghost --actor operator-sec >/dev/null || it_die "tenant set ghost"
expect_eq "registering is audited" \
  "$(q "$IT_URL" "SELECT actor FROM audit_log WHERE action = 'tenant.set' AND object = 'ghost'")" operator-sec
emit_as "$CERTS/operator.cert" usage --tenant ghost --agent a1 --model claude-opus-4-1 --output-tokens 7 --request reg-1
expect_eq "once registered, ghost's event is accepted" $? 0
expect_eq "... and stored" "$(q "$IT_URL" "SELECT tenant_id FROM events WHERE request_id = 'reg-1'")" ghost

# Secure mode never registers from events, even when asked to.
read -r p1 p2 <<<"$(free_ports 2)"
expect_fail "secure ingest with --register-tenants true refuses to start" \
  "plaintext mode only" "$ingest" --pg-url "$IT_URL" --cert-dir "$CERTS" --bind "tcp://127.0.0.1:$p1" \
  --pub-bind "tcp://127.0.0.1:$p2" --metrics-port 0 --register-tenants true

# Plaintext development mode keeps auto-registration.
read -r p1 p2 <<<"$(free_ports 2)"
"$ingest" --insecure --pg-url "$IT_URL" --bind "tcp://127.0.0.1:$p1" --pub-bind "tcp://127.0.0.1:$p2" \
  --ingest-id sec-plain --metrics-port 0 2>"$IT_TMP/plain.log" &
SEC_PIDS+=($!)
out=$("$fleetcost" emit usage --tenant devtenant --agent d --model claude-opus-4-1 --output-tokens 1 \
  --ingest-endpoints "tcp://127.0.0.1:$p1" --spool-dir "$IT_TMP/spool-plain" --timeout-ms 20000 2>&1)
expect_eq "plaintext ingest: an unknown tenant's event is accepted" $? 0
expect_eq "... and registers it (auto_created)" \
  "$(q "$IT_URL" "SELECT auto_created FROM tenants WHERE tenant_id = 'devtenant'")" t
it_done
