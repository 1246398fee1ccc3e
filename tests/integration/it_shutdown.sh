#!/usr/bin/env bash
# it_shutdown (issue 23): every service exits on SIGTERM within a deadline, with status 0
# and nothing lost, in the situations where a stop used to wait without end:
#   1. ingest with its group commit blocked on a Postgres lock: it gives up at
#      --shutdown-timeout-ms, cancels the statement and exits; nothing was acked, so
#      fleetcost-otlp resends to the next ingest and every event is stored once;
#   2. fleetcost-otlp with ingest frozen (SIGSTOP) and events not acked: it waits its
#      --shutdown-timeout-ms for acks and exits; the events stay in the spool and the
#      next fleetcost-otlp delivers them;
#   3. fleetcost-otlp with its token refresh blocked on a Postgres lock;
#   4. the reporter with live streams open and an API request blocked on a lock;
#   5. the three together, as the sec_* teardowns stop them (sec_otlp's CI hang).
# Secure mode (CurveZMQ, zauth), as in sec_otlp.
#   it_shutdown.sh <fleetcost> <fleetcost-ingest> <fleetcost-otlp> <fleetcost-reporter>
fleetcost=${1:?usage: it_shutdown.sh <fleetcost> <fleetcost-ingest> <fleetcost-otlp> <fleetcost-reporter>}
ingest=${2:?}
otlp=${3:?}
reporter=${4:?}
. "$(dirname "$0")/../security/common.sh"
it_setup it_shutdown
trap 'lock_release; sec_stop_all; it_cleanup' EXIT
command -v curl >/dev/null || it_die "curl is not installed"
DEADLINE=15 # seconds from SIGTERM to exit, for every service here

admin() { q "$IT_ADMIN_URL" "$1"; }

# stop_within <name> <pid> [sent]: SIGTERM (unless "sent": a second one would end the
# process at once), then the exit status within $DEADLINE s in STOP_RC ("hung" if the
# process was still there: its stacks are printed and it is killed).
stop_within() {
  local name=$1 pid=$2 gone p keep=()
  [ "${3:-}" = sent ] || kill -TERM "$pid"
  gone() { ! kill -0 "$pid" 2>/dev/null; }
  if until_ok "$DEADLINE" gone; then
    wait "$pid"
    STOP_RC=$?
  else
    STOP_RC=hung
    echo "$name (pid $pid) still running $DEADLINE s after SIGTERM; its stacks:" >&2
    gdb -batch -p "$pid" -ex "thread apply all bt" 2>&1 | grep -E '^(Thread|#)' >&2
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
  fi
  for p in "${SEC_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  SEC_PIDS=("${keep[@]}")
}

# lock_hold <table>: a session holds an ACCESS EXCLUSIVE lock on it until lock_release.
LOCK_PID=
lock_hold() {
  local table=$1
  PGAPPNAME=it_shutdown_lock psql -X -q "$IT_URL" \
    -c "BEGIN; LOCK TABLE $1 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600)" >/dev/null 2>&1 &
  LOCK_PID=$!
  local held
  held() { [ "$(admin "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE a.application_name = 'it_shutdown_lock' AND l.granted AND l.mode = 'AccessExclusiveLock'
      AND l.relation = '$table'::regclass")" -ge 1 ]; }
  until_ok 20 held || it_die "could not lock $table"
}
lock_release() {
  [ -n "$LOCK_PID" ] || return 0
  admin "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'it_shutdown_lock'" >/dev/null
  wait "$LOCK_PID" 2>/dev/null
  LOCK_PID=
}
# blocked <application_name>: a session of that program waits for a lock.
blocked() {
  [ "$(admin "SELECT count(*) FROM pg_stat_activity WHERE datname = '$IT_DB'
    AND application_name = '$1' AND wait_event_type = 'Lock'")" -ge 1 ]
}

# --- the stack: secure ingest, fleetcost-otlp, the reporter ---------------------------------
sec_ingest shutdown --shutdown-timeout-ms 2000
ingest_pid=${SEC_PIDS[-1]}
ingest_port=${INGEST_EP##*:}
"$fleetcost" tenant set --pg-url "$IT_URL" --tenant acme --actor it >/dev/null || it_die "tenant set"
op_token=$("$fleetcost" key create --pg-url "$IT_URL" --admin --scope otlp 2>/dev/null) || it_die "key create --admin --scope otlp"
api_key=$("$fleetcost" key create --pg-url "$IT_URL" --admin 2>/dev/null) || it_die "key create --admin"

start_ingest() {
  "$ingest" --pg-url "$IT_URL" --cert-dir "$CERTS" --bind "$INGEST_EP" --pub-bind "tcp://127.0.0.1:$pub2" \
    --ingest-id shutdown --metrics-port 0 --shutdown-timeout-ms 2000 2>>"$IT_TMP/ingest.log" &
  ingest_pid=$!
  SEC_PIDS+=("$ingest_pid")
}
read -r http metrics pub2 <<<"$(free_ports 3)"
start_otlp() {
  "$otlp" --pg-url "$IT_URL" --cert-dir "$CERTS" --http-port "$http" --metrics-port "$metrics" \
    --ingest-endpoints "$INGEST_EP" --spool-dir "$IT_TMP/spool" --token-refresh-ms 300 \
    --shutdown-timeout-ms 2000 2>>"$IT_TMP/otlp.log" &
  otlp_pid=$!
  SEC_PIDS+=("$otlp_pid")
  local loaded
  loaded() { [ "$(metric "$metrics" fleetcost_otlp_ingest_tokens)" = 1 ]; }
  until_ok 20 loaded || { cat "$IT_TMP/otlp.log" >&2; it_die "fleetcost-otlp did not start"; }
}
start_otlp
rport=$(free_ports 1)
start_reporter() {
  "$reporter" --insecure --aggregator-pub "" --http-port "$rport" --pg-reader-url "$IT_READER_URL" \
    2>>"$IT_TMP/reporter.log" &
  reporter_pid=$!
  SEC_PIDS+=("$reporter_pid")
  local healthy
  healthy() { curl -sf -o /dev/null "http://127.0.0.1:$rport/healthz"; }
  until_ok 20 healthy || { cat "$IT_TMP/reporter.log" >&2; it_die "reporter did not start"; }
}
start_reporter

# post <request id>: one claude_code.api_request for acme; prints the status.
post() {
  local body
  body=$(printf '{"resourceLogs":[{"resource":{"attributes":[{"key":"tenant.id","value":{"stringValue":"acme"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"%s000000000","body":{"stringValue":"claude_code.api_request"},"attributes":[{"key":"session.id","value":{"stringValue":"s-1"}},{"key":"request_id","value":{"stringValue":"%s"}},{"key":"model","value":{"stringValue":"claude-opus-4-1"}},{"key":"output_tokens","value":{"intValue":"5"}}]}]}]}]}' "$(date +%s)" "$1")
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $op_token" \
    -H 'Content-Type: application/json' --data-binary "$body" "http://127.0.0.1:$http/v1/logs"
}
stored() { q "$IT_URL" "SELECT count(*) FROM events WHERE request_id LIKE '$1%'"; }
spool_events() { # events in the spool's batch files (<id>-<events>.batch)
  local n=0 f
  for f in "$IT_TMP"/spool/*.batch; do
    [ -e "$f" ] || continue
    f=${f##*-}
    n=$((n + ${f%.batch}))
  done
  echo "$n"
}

# --- 1. ingest, its commit blocked on a lock ------------------------------------------------
lock_hold events
expect_eq "1. three events posted while events is locked: 200 200 200" "$(post s1-a) $(post s1-b) $(post s1-c)" "200 200 200"
check "... ingest's commit waits for the lock" until_ok 20 blocked fleetcost-ingest
t0=$SECONDS
stop_within ingest "$ingest_pid"
expect_eq "... ingest exits on SIGTERM within $DEADLINE s, status 0" "$STOP_RC" 0
echo "   (ingest took $((SECONDS - t0)) s)"
check "... and says what it did not commit" grep -q 'not committed: not acked' "$IT_TMP/ingest.log"
lock_release
expect_eq "... nothing of it stored" "$(stored s1-)" 0
start_ingest
all_three() { [ "$(stored s1-)" = 3 ]; }
check "... the next ingest gets all three from fleetcost-otlp's spool" until_ok 30 all_three
expect_eq "... each once" "$(q "$IT_URL" "SELECT count(DISTINCT request_id) FROM events WHERE request_id LIKE 's1-%'")" 3

# --- 2. fleetcost-otlp, ingest frozen ---------------------------------------------------------
kill -STOP "$ingest_pid"
expect_eq "2. three events posted while ingest is frozen: 200 200 200" "$(post s2-a) $(post s2-b) $(post s2-c)" "200 200 200"
t0=$SECONDS
stop_within fleetcost-otlp "$otlp_pid"
expect_eq "... fleetcost-otlp exits on SIGTERM within $DEADLINE s, status 0" "$STOP_RC" 0
echo "   (fleetcost-otlp took $((SECONDS - t0)) s)"
check "... and logs the events it leaves in the spool" grep -q '3 left in the spool' "$IT_TMP/otlp.log"
expect_eq "... where they are" "$(spool_events)" 3
kill -CONT "$ingest_pid"
start_otlp
s2_stored() { [ "$(stored s2-)" = 3 ]; }
check "... the next fleetcost-otlp delivers them" until_ok 30 s2_stored
spool_empty() { [ "$(spool_events)" = 0 ]; }
check "... and the spool empties" until_ok 30 spool_empty

# --- 3. fleetcost-otlp, its token refresh blocked on a lock ---------------------------------
lock_hold api_keys
check "3. fleetcost-otlp's token refresh waits for the lock" until_ok 20 blocked fleetcost-otlp
t0=$SECONDS
stop_within fleetcost-otlp "$otlp_pid"
expect_eq "... fleetcost-otlp exits on SIGTERM within $DEADLINE s, status 0" "$STOP_RC" 0
echo "   (fleetcost-otlp took $((SECONDS - t0)) s)"
lock_release
start_otlp

# --- 4. the reporter, live streams open and a request blocked on a lock ----------------------
streams=()
for t in acme ""; do
  curl -s -N -o /dev/null --max-time 120 -H "Authorization: Bearer $api_key" \
    "http://127.0.0.1:$rport/api/v1/stream${t:+?tenant=$t}" &
  streams+=($!)
done
lock_hold events
curl -s -o /dev/null --max-time 120 -H "Authorization: Bearer $api_key" \
  "http://127.0.0.1:$rport/api/v1/costs?tenant=acme&group=day" &
streams+=($!)
check "4. a reporter request waits for the lock" until_ok 20 blocked fleetcost-reporter
t0=$SECONDS
stop_within reporter "$reporter_pid"
expect_eq "... the reporter exits on SIGTERM within $DEADLINE s, status 0" "$STOP_RC" 0
echo "   (the reporter took $((SECONDS - t0)) s)"
lock_release
for p in "${streams[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
start_reporter

# --- 5. all three at once, after traffic (the sec_* teardown) --------------------------------
expect_eq "5. traffic: two posts" "$(post s5-a) $(post s5-b)" "200 200"
s5_stored() { [ "$(stored s5-)" = 2 ]; }
check "... stored" until_ok 30 s5_stored
curl -s -o /dev/null -H "Authorization: Bearer $api_key" "http://127.0.0.1:$rport/api/v1/tenants"
for p in "$ingest_pid" "$otlp_pid" "$reporter_pid"; do kill -TERM "$p"; done
for pair in "ingest $ingest_pid" "fleetcost-otlp $otlp_pid" "reporter $reporter_pid"; do
  read -r name pid <<<"$pair"
  stop_within "$name" "$pid" sent
  expect_eq "... $name exits within $DEADLINE s of a SIGTERM to all three, status 0" "$STOP_RC" 0
done
check "no service hit its stop deadline" bash -c "! grep -h 'shutdown did not finish' '$IT_TMP'/*.log"
it_done
