#!/usr/bin/env bash
# it_ingest_deadlock: an error that is not the event's fault never dead-letters it.
# Two transactions that update the same two agents in opposite orders deadlock, and
# PostgreSQL aborts one of them. With two ingest writers that can be ingest against
# ingest; here a psql session plays the other writer, so the deadlock is made on
# purpose rather than waited for:
#   the session locks agent A; ingest receives one group [spawn B, spawn A], upserts
#   B and waits for A (awaited in pg_stat_activity); the session then asks for B.
# Ingest waited first, so its deadlock check runs first and it is the one aborted
# (40P01). Before the fix that error was taken as a refused row and the valid
# agent.spawn went to dead letters (seen in a CI run of it_multihost). Now the group
# is rolled back and retried: nothing rejected, no dead letter, both agents stored.
#   it_ingest_deadlock.sh <fleetcost> <fleetcost-ingest> <source root>
fleetcost=${1:?usage: it_ingest_deadlock.sh <fleetcost> <fleetcost-ingest> <source root>}
ingest_bin=${2:?}
. "$(dirname "$0")/lib.sh"
it_setup ingest_deadlock
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p_in=$(free_port) p_pub=$(free_port)
ingest_pid="" session_pid=""
stop_all() {
  [ -n "$session_pid" ] && kill "$session_pid" 2>/dev/null
  [ -n "$ingest_pid" ] && kill "$ingest_pid" 2>/dev/null
  wait 2>/dev/null
  it_cleanup
}
trap stop_all EXIT

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
"$ingest_bin" --insecure --pg-url "$IT_URL" --ingest-id dl --bind "tcp://127.0.0.1:$p_in" \
  --pub-bind "tcp://127.0.0.1:$p_pub" --metrics-port 0 --writers 1 >"$IT_TMP/ingest.log" 2>&1 &
ingest_pid=$!
emit() {
  "$fleetcost" emit --stdin --ingest-endpoints "tcp://127.0.0.1:$p_in" \
    --spool-dir "$IT_TMP/spool" --timeout-ms 60000 2>&1
}
spawn() { printf '{"type": "agent.spawn", "tenant": "dl", "agent": "%s", "host": "%s"}\n' "$1" "$2"; }

out=$( { spawn agent-a h0; spawn agent-b h0; } | emit)
expect_eq "the two agents exist" "$(grep -o '^emit: [0-9]* acked, [0-9]* duplicate, [0-9]* rejected' <<<"$out")" \
  "emit: 2 acked, 0 duplicate, 0 rejected"

# The other writer: a psql session fed through a FIFO, one statement at a time.
mkfifo "$IT_TMP/session"
psql "$IT_URL" -q -v ON_ERROR_STOP=0 <"$IT_TMP/session" >"$IT_TMP/session.log" 2>&1 &
session_pid=$!
exec 7>"$IT_TMP/session"
echo "BEGIN; UPDATE agents SET host = 'session' WHERE tenant_id = 'dl' AND agent_id = 'agent-a';" >&7
lock_held() { [ "$(q "$IT_URL" "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
  WHERE a.state = 'idle in transaction' AND l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock'")" -ge 1 ]; }
deadline=$((SECONDS + 30))
until lock_held; do [ $SECONDS -ge $deadline ] && it_die "the session did not take its lock"; sleep 0.05; done

# One group, B before A: ingest locks B, then waits for the session's A.
{ spawn agent-b h1; spawn agent-a h1; } | emit >"$IT_TMP/emit.out" &
emit_pid=$!
ingest_waits() { [ "$(q "$IT_URL" "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
  AND query LIKE 'INSERT INTO agents%'")" -ge 1 ]; }
deadline=$((SECONDS + 30))
until ingest_waits; do [ $SECONDS -ge $deadline ] && it_die "ingest never waited for agent-a"; sleep 0.05; done
# The cycle: the session asks for B, which ingest holds.
echo "UPDATE agents SET host = 'session' WHERE tenant_id = 'dl' AND agent_id = 'agent-b'; COMMIT;" >&7
exec 7>&-
wait "$emit_pid"
emit_rc=$?
wait "$session_pid"
session_pid=""

check "ingest was the one aborted by the deadlock, and retried its group" \
  grep -q "retried: ERROR:  deadlock detected" "$IT_TMP/ingest.log"
expect_eq "emit: both events acked, none rejected" \
  "$emit_rc $(grep -o '^emit: [0-9]* acked, [0-9]* duplicate, [0-9]* rejected' "$IT_TMP/emit.out")" \
  "0 emit: 2 acked, 0 duplicate, 0 rejected"
expect_eq "no dead letter" "$(q "$IT_URL" "SELECT count(*) FROM dead_letters")" 0
expect_eq "ingest's upserts came after the session's commit (host h1 on both)" \
  "$(q "$IT_URL" "SELECT string_agg(agent_id || '=' || host, ' ' ORDER BY agent_id) FROM agents WHERE tenant_id = 'dl'")" \
  "agent-a=h1 agent-b=h1"
check "the session committed (it was not the deadlock's victim)" \
  bash -c '! grep -q "deadlock detected" "$1"' _ "$IT_TMP/session.log"
it_done
