#!/usr/bin/env bash
# it_multihost: fleetcost across three "hosts" (network namespaces), in secure mode, with
# a link cut and an ingest instance killed for good mid-stream.
#
#   usage: it_multihost.sh <fleetcost> <fleetcost-ingest> <fleetcost-aggregator> <fleetcost-reporter>
#   needs: root, iproute2, redis-server, psql, curl, jq; the local stack (scripts/stack.sh
#   up) and FLEETCOST_* from .fleetcost/env.
#
# Topology (tests/e2e/netns.sh makes it):
#
#   fc-agent-a 10.231.0.2 ---- 10.231.0.1 \                 root namespace
#     simulate alpha (UTC)                  fc-core          (the stack's Postgres,
#     simulate bravo (Los Angeles)            ingest-1  :7601/:7602   127.0.0.1 only)
#   fc-agent-b 10.231.0.6 ---- 10.231.0.5 /   ingest-2  :7701/:7702       ^
#     simulate charlie (Kolkata)              aggregator (operator)       |
#     simulate delta (Auckland)               reporter  10.231.0.5:8080   |
#                                             redis (private) 127.0.0.1   |
#                                             Postgres: its Unix socket --'
#
# Why this shape: the core services really run on a separate network stack, so agents
# reach them only over the veth links, yet nothing in the root namespace changes. The
# stack's Postgres listens on 127.0.0.1 only; instead of routing from fc-core into the
# root namespace (which would need addresses, routes and a listen address in the root
# namespace), the services in fc-core use Postgres's Unix socket: a filesystem socket
# is not confined by a network namespace. The test's private redis-server runs inside
# fc-core on its own loopback, so it cannot collide with any other test or Redis.
# Every address is in 10.231.0.0/24 and exists only inside these namespaces; no
# namespace has a default route, the core does not forward, and the root namespace
# gets no interface, address or route.
#
# Each agent host runs two `fleetcost simulate` processes, one per tenant, each with its
# own tenant certificate (cert create --tenant) and spool directory, sending to BOTH
# ingest instances (--ingest-endpoints, failover). Every service runs with --cert-dir
# (CurveZMQ): the aggregator subscribes to both ingests' PUBs with the operator key.
#
# During the stream:
#   1. host a's link is cut (its end set down) for 6 s, then restored;
#   2. ingest-1 is killed with SIGKILL and never restarted.
# At the end, after the simulators finished and `fleetcost flush` emptied each spool:
#   - per tenant: rows = distinct event ids = events the clients report acked +
#     duplicate (simulate's and flush's summaries), nothing rejected, no dead letters;
#   - every spool directory is empty;
#   - both ingests stored events before the kill, ingest-2 alone after it;
#   - no host-a event was stored while its link was down, and its spool held batches;
#   - every Redis day and month hash (fc:{tenant}:day:<tenant-local day>, :month:) equals
#     SQL over events (rows with a cost_kind): cost_nusd, token fields, events,
#     unpriced_events, every breakdown field (agent_type:, model:, agent:, kind:, speed:,
#     provider:), no extra field, the active-agent sets, and no extra day/month key;
#   - the reporter, reached from host b, gives each tenant's API key its SQL total, and
#     refuses another tenant.
# Waits are polling loops with deadlines; the whole test gives up after ~220 s. The EXIT
# trap kills every process it started, removes the namespaces and drops the database.

# Functions here are mostly called indirectly (wait_until, check, the EXIT trap).
# shellcheck disable=SC2317
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../integration/lib.sh
. "$here/../integration/lib.sh"
# shellcheck source=netns.sh
. "$here/netns.sh"

[ $# -eq 4 ] || it_die "usage: $0 <fleetcost> <fleetcost-ingest> <fleetcost-aggregator> <fleetcost-reporter>"
fleetcost=$1 ingest_bin=$2 aggregator_bin=$3 reporter_bin=$4

BUDGET_S=220    # the whole test, well under ctest's TIMEOUT 400
RATE=150        # model requests per second, per simulate process
REQUESTS=4500   # per simulate process: ~30 s of traffic
OUTAGE_S=6      # how long host a stays cut off
REDIS_PORT=16379 # inside fc-core: nothing else listens there
REPORTER_PORT=8080

# --- preconditions: a missing capability is a failure, not a skip ---------------------
[ "$(id -u)" -eq 0 ] || { echo "FAIL it_multihost needs root (network namespaces)" >&2; exit 1; }
for tool in ip:iproute2 redis-server:redis-server redis-cli:redis-tools psql:postgresql-client \
  curl:curl jq:jq flock:util-linux timeout:coreutils; do
  command -v "${tool%%:*}" >/dev/null || {
    echo "FAIL it_multihost needs '${tool%%:*}': Debian package ${tool#*:} (scripts/deps.sh installs it)" >&2
    exit 1
  }
done
for b in "$fleetcost" "$ingest_bin" "$aggregator_bin" "$reporter_bin"; do
  [ -x "$b" ] || it_die "not executable: $b"
done

# One run at a time (the namespace names are fixed); then remove what a run that was
# killed outright (SIGKILL) may have left.
lockdir=/run/lock
[ -d "$lockdir" ] || lockdir=/tmp
exec 9>"$lockdir/fleetcost-it-multihost.lock"
flock -w 60 9 || it_die "another it_multihost is running (lock $lockdir/fleetcost-it-multihost.lock)"
mh_down

it_setup multihost

PIDS=()
cleanup() {
  local pid
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  local deadline=$((SECONDS + 10))
  for pid in "${PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  mh_down # anything else still in the namespaces, then the namespaces themselves
  if [ "$IT_FAILURES" -gt 0 ] || [ -n "${MH_FAILED:-}" ]; then
    for f in "$IT_TMP"/*.log; do
      [ -s "$f" ] || continue
      echo "--- tail of $(basename "$f")"
      tail -n 15 "$f"
    done
  fi
  it_cleanup
}
trap cleanup EXIT
trap 'MH_FAILED=1; echo "it_multihost: interrupted" >&2; exit 130' INT TERM HUP

fatal() {
  MH_FAILED=1
  echo "FATAL: $*" >&2
  exit 1
}
left_s() { echo $((BUDGET_S - SECONDS)); }

# wait_until <seconds> <what> <command...>: polls every 0.2 s until the command succeeds;
# fatal after the deadline or when the test's whole budget is spent.
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ $SECONDS -ge $deadline ] && fatal "timed out after $1 s waiting for: $what"
    [ $SECONDS -ge $BUDGET_S ] && fatal "test budget of $BUDGET_S s spent waiting for: $what"
    sleep 0.2
  done
}

# poll_until <seconds> <command...>: the same, but returns 1 at the deadline.
poll_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -ge $deadline ] || [ $SECONDS -ge $BUDGET_S ] && return 1
    sleep 0.2
  done
}

# spawn <namespace> <name> <command...>: runs it in the namespace, logs to $IT_TMP/<name>.*
spawn() {
  local ns=$1 name=$2
  shift 2
  ip netns exec "$ns" "$@" >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.log" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}
alive() { kill -0 "$1" 2>/dev/null; }
tcp_open() { ip netns exec "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }
sql() { q "$IT_URL" "$1"; }
rcli() { ip netns exec "$MH_CORE" redis-cli -p "$REDIS_PORT" "$@"; }

# --- hosts --------------------------------------------------------------------------
mh_up || fatal "cannot create network namespaces (ip netns add / veth): this test needs root with CAP_SYS_ADMIN and CAP_NET_ADMIN"
echo "hosts: $MH_CORE ($MH_CORE_A, $MH_CORE_B), $MH_AGENT_A ($MH_HOST_A), $MH_AGENT_B ($MH_HOST_B)"

# --- database -------------------------------------------------------------------------
"$fleetcost" migrate --pg-url "$IT_URL" >"$IT_TMP/migrate.log" 2>&1 || fatal "migrate failed: $(tail -5 "$IT_TMP/migrate.log")"
declare -A TZ=([alpha]=UTC [bravo]=America/Los_Angeles [charlie]=Asia/Kolkata [delta]=Pacific/Auckland)
TENANTS="alpha bravo charlie delta"
for t in $TENANTS; do
  "$fleetcost" tenant set --pg-url "$IT_URL" --tenant "$t" --tz "${TZ[$t]}" >/dev/null 2>>"$IT_TMP/migrate.log" ||
    fatal "tenant set $t failed"
done

pg_sock=$(q "$IT_ADMIN_URL" "SELECT split_part(current_setting('unix_socket_directories'), ',', 1)")
pg_port=$(q "$IT_ADMIN_URL" "SELECT current_setting('port')")
if [ -z "$pg_sock" ] || [ ! -S "$pg_sock/.s.PGSQL.$pg_port" ]; then
  fatal "Postgres has no Unix socket ('$pg_sock'): fc-core cannot reach it"
fi
with_socket() { case "$1" in *\?*) echo "$1&host=$pg_sock&port=$pg_port" ;; *) echo "$1?host=$pg_sock&port=$pg_port" ;; esac; }
CORE_PG=$(with_socket "$IT_URL")
CORE_READER=$(with_socket "$IT_READER_URL")
check "fc-core reaches Postgres through its Unix socket" \
  bash -c "ip netns exec $MH_CORE psql -X -At '$CORE_PG' -c 'SELECT 1' >/dev/null 2>&1"

# --- certificates: one per simulate process, shipped to its host's directory ----------
certs=$IT_TMP/certs
"$fleetcost" cert init --cert-dir "$certs" >"$IT_TMP/certs.log" 2>&1 || fatal "cert init failed"
declare -A HOST_NS=([alpha]=$MH_AGENT_A [bravo]=$MH_AGENT_A [charlie]=$MH_AGENT_B [delta]=$MH_AGENT_B)
declare -A CORE_IP=([alpha]=$MH_CORE_A [bravo]=$MH_CORE_A [charlie]=$MH_CORE_B [delta]=$MH_CORE_B)
declare -A HOST_DIR SPOOL ENDPOINTS
for t in $TENANTS; do
  h=${HOST_NS[$t]#fc-}
  HOST_DIR[$t]=$IT_TMP/$h
  SPOOL[$t]=$IT_TMP/$h/spool-$t
  ENDPOINTS[$t]="tcp://${CORE_IP[$t]}:7601,tcp://${CORE_IP[$t]}:7701"
  mkdir -p "${HOST_DIR[$t]}"
  "$fleetcost" cert create --cert-dir "$certs" --pg-url "$IT_URL" --tenant "$t" --name "$h-$t" \
    >>"$IT_TMP/certs.log" 2>&1 ||
    fatal "cert create $h-$t failed"
  cp -p "$certs/$h-$t.cert" "$certs/$h-$t.cert_secret" "$certs/server.cert" "${HOST_DIR[$t]}/"
done
check "every certificate is in this test's audit_log" test "$(sql "SELECT count(*) FROM audit_log
  WHERE action = 'cert.create'")" -eq "$(wc -w <<<"$TENANTS")"
# cert_args <tenant>: sets CERT_ARGS to that agent's --cert and --server-cert.
cert_args() { CERT_ARGS=(--cert "${HOST_DIR[$1]}/${HOST_NS[$1]#fc-}-$1.cert" --server-cert "${HOST_DIR[$1]}/server.cert"); }

# --- core services ----------------------------------------------------------------------
mkdir -p "$IT_TMP/redis"
spawn "$MH_CORE" redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
  --appendonly no --dir "$IT_TMP/redis"
REDIS_PID=$LAST_PID
wait_until 10 "redis in fc-core" bash -c "alive() { kill -0 $REDIS_PID; }; alive && [ \"\$(ip netns exec $MH_CORE redis-cli -p $REDIS_PORT ping 2>/dev/null)\" = PONG ]"

start_ingest() { # start_ingest <n> <router port> <pub port>
  spawn "$MH_CORE" "ingest-$1" "$ingest_bin" --cert-dir "$certs" --pg-url "$CORE_PG" \
    --bind "tcp://*:$2" --pub-bind "tcp://127.0.0.1:$3" --ingest-id "mh-ingest-$1" \
    --metrics-port 0
}
start_ingest 1 7601 7602
INGEST1_PID=$LAST_PID
start_ingest 2 7701 7702
INGEST2_PID=$LAST_PID
spawn "$MH_CORE" aggregator "$aggregator_bin" --cert-dir "$certs" --pg-url "$CORE_PG" \
  --redis-url "redis://127.0.0.1:$REDIS_PORT/0" \
  --ingest-pub tcp://127.0.0.1:7602,tcp://127.0.0.1:7702 --bind tcp://127.0.0.1:7603 \
  --interval-ms 200 --heartbeat-timeout-ms 1500 --metrics-port 0
AGG_PID=$LAST_PID
spawn "$MH_CORE" reporter "$reporter_bin" --cert-dir "$certs" --pg-url "$CORE_PG" \
  --pg-reader-url "$CORE_READER" --redis-url "redis://127.0.0.1:$REDIS_PORT/0" \
  --http-bind "$MH_CORE_B" --http-port "$REPORTER_PORT"
REPORTER_PID=$LAST_PID

up() { alive "$1" && tcp_open "$2" "$3" "$4"; }
wait_until 15 "ingest-1 on $MH_CORE_A:7601 from host a" up "$INGEST1_PID" "$MH_AGENT_A" "$MH_CORE_A" 7601
wait_until 15 "ingest-2 on $MH_CORE_A:7701 from host a" up "$INGEST2_PID" "$MH_AGENT_A" "$MH_CORE_A" 7701
wait_until 15 "ingest-1 on $MH_CORE_B:7601 from host b" up "$INGEST1_PID" "$MH_AGENT_B" "$MH_CORE_B" 7601
wait_until 15 "ingest-2 on $MH_CORE_B:7701 from host b" up "$INGEST2_PID" "$MH_AGENT_B" "$MH_CORE_B" 7701
wait_until 15 "aggregator PUB" up "$AGG_PID" "$MH_CORE" 127.0.0.1 7603
REPORTER_URL="http://$MH_CORE_B:$REPORTER_PORT"
wait_until 15 "reporter from host b" bash -c \
  "kill -0 $REPORTER_PID && ip netns exec $MH_AGENT_B curl -sf --max-time 2 -o /dev/null $REPORTER_URL/healthz"

# The links carry only what they should.
check "host a cannot reach host b's link" bash -c "! ip netns exec $MH_AGENT_A timeout 2 bash -c 'exec 3<>/dev/tcp/$MH_CORE_B/7601' 2>/dev/null"
check "host a has no route out (no default route)" bash -c "[ -z \"\$(ip -n $MH_AGENT_A route show default)\" ]"
check "host a cannot reach the stack's Postgres" bash -c "! ip netns exec $MH_AGENT_A timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$pg_port' 2>/dev/null"

# --- the fleet --------------------------------------------------------------------------
declare -A SIM_PID
seed=1
for t in $TENANTS; do
  cert_args "$t"
  spawn "${HOST_NS[$t]}" "sim-$t" "$fleetcost" simulate --ingest-endpoints "${ENDPOINTS[$t]}" \
    --spool-dir "${SPOOL[$t]}" "${CERT_ARGS[@]}" --tenants "$t" --hot none \
    --rate "$RATE" --requests "$REQUESTS" --seed "$seed" --host "${HOST_NS[$t]#fc-}"
  SIM_PID[$t]=$LAST_PID
  seed=$((seed + 1))
done
echo "fleet: 4 simulators x $REQUESTS requests at $RATE/s started at ${SECONDS}s"

count() { sql "SELECT count(*) FROM events WHERE $1"; }
host_a="tenant_id IN ('alpha', 'bravo')"
host_b="tenant_id IN ('charlie', 'delta')"
all_tenants_flow() { [ "$(sql "SELECT count(DISTINCT tenant_id) FROM events")" -eq 4 ]; }
wait_until 30 "events from all four tenants" all_tenants_flow

# 1. Cut host a off.
ip -n "$MH_AGENT_A" link set "$MH_LINK_A" down || fatal "cannot set $MH_LINK_A down"
cut_at=$SECONDS
echo "cut: host a's link down at ${cut_at}s"
b_at_cut=$(count "$host_b")
settle() { [ "$SECONDS" -ge $((cut_at + 2)) ]; }
wait_until 5 "2 s into the outage" settle
a_mid=$(count "$host_a")
outage_over() { [ "$SECONDS" -ge $((cut_at + OUTAGE_S)) ]; }
wait_until $((OUTAGE_S + 2)) "the end of the outage" outage_over
a_end=$(count "$host_a")
a_spooled=$(find "${SPOOL[alpha]}" "${SPOOL[bravo]}" -name '*.batch' | wc -l)
ip -n "$MH_AGENT_A" link set "$MH_LINK_A" up || fatal "cannot set $MH_LINK_A up"
echo "cut: host a's link up at ${SECONDS}s ($a_spooled batches waiting in its spools)"
expect_eq "no host-a event stored while its link was down (2 s after the cut to the end)" "$a_end" "$a_mid"
check "host a's agents spooled while cut off" [ "$a_spooled" -gt 0 ]
check "host b kept storing during host a's outage" [ "$(count "$host_b")" -gt "$b_at_cut" ]
a_recovers() { [ "$(count "$host_a")" -gt "$a_end" ]; }
wait_until 30 "host a's events to be stored again" a_recovers
echo "cut: host a stores again at ${SECONDS}s"

# 2. Kill ingest-1 for good, while the fleet is still sending.
check "the simulators are still running when ingest-1 is killed" bash -c \
  "kill -0 ${SIM_PID[alpha]} && kill -0 ${SIM_PID[charlie]}"
check "both ingests stored events before the kill" [ \
  "$(sql "SELECT count(DISTINCT ingest_id) FROM events")" -eq 2 ]
kill -KILL "$INGEST1_PID"
wait "$INGEST1_PID" 2>/dev/null
killed_at=$SECONDS
i2_a=$(count "ingest_id = 'mh-ingest-2' AND $host_a")
i2_b=$(count "ingest_id = 'mh-ingest-2' AND $host_b")
i1_at_kill=$(count "ingest_id = 'mh-ingest-1'")
echo "kill: ingest-1 killed (SIGKILL) at ${killed_at}s"
after_kill() { [ "$(count "ingest_id = 'mh-ingest-2' AND $host_a")" -gt "$i2_a" ] &&
  [ "$(count "ingest_id = 'mh-ingest-2' AND $host_b")" -gt "$i2_b" ]; }
wait_until 30 "ingest-2 to store both hosts' events after the kill" after_kill

# --- the end of the stream ---------------------------------------------------------------
sims_done() {
  local t
  for t in $TENANTS; do alive "${SIM_PID[$t]}" && return 1; done
  return 0
}
wait_until $(($(left_s) - 60)) "the simulators to finish" sims_done
echo "fleet: simulators done at ${SECONDS}s"
expect_eq "nothing stored by ingest-1 after its kill" "$(count "ingest_id = 'mh-ingest-1'")" "$i1_at_kill"

declare -A ACKED DUP
for t in $TENANTS; do
  wait "${SIM_PID[$t]}"
  rc=$?
  line=$(grep '^simulate:' "$IT_TMP/sim-$t.out")
  echo "$t: $line"
  expect_eq "simulate $t exit status" "$rc" 0
  [[ $line =~ ([0-9]+)\ events\ acked,\ ([0-9]+)\ duplicate,\ ([0-9]+)\ rejected ]] ||
    fatal "no summary from simulate $t: $(tail -3 "$IT_TMP/sim-$t.log")"
  ACKED[$t]=${BASH_REMATCH[1]}
  DUP[$t]=${BASH_REMATCH[2]}
  expect_eq "simulate $t: nothing rejected" "${BASH_REMATCH[3]}" 0
  # Whatever simulate could not deliver within its own 10 s flush stays in the spool:
  # `fleetcost flush` from the same host delivers it (ingest-1 is gone: ingest-2 only).
  cert_args "$t"
  out=$(timeout 60 ip netns exec "${HOST_NS[$t]}" "$fleetcost" flush --ingest-endpoints "${ENDPOINTS[$t]}" \
    --spool-dir "${SPOOL[$t]}" "${CERT_ARGS[@]}" --timeout-ms 30000 2>>"$IT_TMP/flush.log")
  rc=$?
  echo "$t: $(echo "$out" | head -1)"
  expect_eq "flush $t exit status" "$rc" 0
  [[ $out =~ \(([0-9]+)\ stored,\ ([0-9]+)\ duplicate,\ ([0-9]+)\ rejected\) ]] ||
    fatal "no summary from flush $t: $out"
  ACKED[$t]=$((ACKED[$t] + BASH_REMATCH[1]))
  DUP[$t]=$((DUP[$t] + BASH_REMATCH[2]))
  expect_eq "flush $t: nothing rejected" "${BASH_REMATCH[3]}" 0
  expect_eq "spool of $t is empty" "$(find "${SPOOL[$t]}" -type f | wc -l)" 0
done

# --- exactly once ------------------------------------------------------------------------
total=0
for t in $TENANTS; do
  expect_eq "$t: rows = distinct event ids = acked + duplicate (${ACKED[$t]} + ${DUP[$t]})" \
    "$(sql "SELECT count(*) || ' ' || count(DISTINCT event_id) FROM events WHERE tenant_id = '$t'")" \
    "$((ACKED[$t] + DUP[$t])) $((ACKED[$t] + DUP[$t]))"
  total=$((total + ACKED[$t] + DUP[$t]))
done
expect_eq "all tenants: rows = distinct ids = clients' acked + duplicate" \
  "$(sql "SELECT count(*) || ' ' || count(DISTINCT event_id) FROM events")" "$total $total"
expect_eq "no dead letters" "$(sql "SELECT count(*) FROM dead_letters")" 0
check "host a and host b events on both ingests" [ \
  "$(sql "SELECT count(DISTINCT (ingest_id, tenant_id IN ('alpha', 'bravo'))) FROM events")" -eq 4 ]
echo "stored: $total events"

# --- Redis = SQL ---------------------------------------------------------------------------
# Expected hash fields of every day and month key: "<redis command>\t<expected reply>".
expected_sql="
WITH ev AS (
  SELECT e.*, 'fc:{' || e.tenant_id || '}:day:' || to_char(e.event_time AT TIME ZONE t.tz, 'YYYY-MM-DD') AS dk,
         'fc:{' || e.tenant_id || '}:month:' || to_char(e.event_time AT TIME ZONE t.tz, 'YYYY-MM') AS mk,
         CASE WHEN e.event_type = 'usage' THEN coalesce(e.speed, 'standard') ELSE '' END AS speed_f,
         coalesce(pv.provider, '') AS provider_f
    FROM events e JOIN tenants t USING (tenant_id)
         LEFT JOIN price_versions pv ON pv.version_id = e.price_version
   WHERE e.cost_kind IS NOT NULL),
p AS (SELECT dk AS k, ev.* FROM ev UNION ALL SELECT mk, ev.* FROM ev)
SELECT k, f, sum(v) FROM p, LATERAL (VALUES
  ('cost_nusd', cost_nusd), ('input_tokens', input_tokens), ('output_tokens', output_tokens),
  ('cache_read_tokens', cache_read_tokens), ('cache_write_5m_tokens', cache_write_5m_tokens),
  ('cache_write_1h_tokens', cache_write_1h_tokens), ('events', 1), ('unpriced_events', unpriced::int),
  ('billed_nusd', coalesce(billed_nusd, cost_nusd)),
  ('agent_type:' || coalesce(agent_type, ''), cost_nusd), ('model:' || coalesce(model_family, ''), cost_nusd),
  ('agent:' || coalesce(agent_id, ''), cost_nusd), ('kind:' || cost_kind, cost_nusd),
  ('speed:' || speed_f, cost_nusd), ('provider:' || provider_f, cost_nusd)) AS x(f, v)
 GROUP BY k, f
UNION ALL
SELECT k || ':agents', '', count(DISTINCT agent_id) FROM p GROUP BY k
ORDER BY 1, 2"

redis_expected() {
  psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 "$IT_URL" -c "$expected_sql" | awk -F'\t' '
    $1 ~ /:agents$/ { printf "SCARD \"%s\"\t%s\n", $1, $3; next }
    { printf "HGET \"%s\" \"%s\"\t%s\n", $1, $2, $3; n[$1]++ }
    END { for (k in n) printf "HLEN \"%s\"\t%d\n", k, n[k] }'
}
# Prints the differences; succeeds when there are none.
redis_diff() {
  local exp got keys_sql keys_redis
  exp=$(redis_expected) || return 1
  [ -n "$exp" ] || { echo "no expected figures (no events?)"; return 1; }
  got=$(cut -f1 <<<"$exp" | rcli 2>&1)
  paste <(echo "$exp") <(echo "$got") | awk -F'\t' '$2 != $3 { print "  " $1 ": redis " ($3 == "" ? "(nil)" : $3) ", sql " $2; bad++ }
    END { exit bad > 0 }' || return 1
  keys_sql=$(grep -o '^HLEN "[^"]*"' <<<"$exp" | cut -d'"' -f2 | sort)
  keys_redis=$(rcli --scan --pattern 'fc:*' | grep -E '^fc:\{[^}]+\}:(day:[0-9]{4}-[0-9]{2}-[0-9]{2}|month:[0-9]{4}-[0-9]{2})$' | sort)
  [ "$keys_sql" = "$keys_redis" ] || { diff <(echo "$keys_sql") <(echo "$keys_redis") | sed 's/^/  keys /'; return 1; }
}
redis_exact() { redis_diff >/dev/null 2>&1; }
t0=$SECONDS
if poll_until 60 redis_exact; then
  echo "redis: equal to SQL after $((SECONDS - t0)) s"
else
  echo "redis: NOT equal to SQL after $((SECONDS - t0)) s"
fi
nkeys=$(redis_expected | grep -c '^HLEN')
nfields=$(redis_expected | grep -c '^HGET')
check "Redis day and month hashes = SQL ($nkeys keys, $nfields fields, active agents, no extra field or key)" redis_diff

# --- reporter, from host b ------------------------------------------------------------------
for t in $TENANTS; do
  key=$("$fleetcost" key create --pg-url "$IT_URL" --tenant "$t" 2>>"$IT_TMP/keys.log") || fatal "key create $t"
  body=$(ip netns exec "$MH_AGENT_B" curl -s --max-time 20 -H "Authorization: Bearer $key" \
    "$REPORTER_URL/api/v1/costs?group=tenant")
  expect_eq "reporter (from host b): $t's key gets $t's total cost" \
    "$(jq -r '[.rows[] | select(.key == "'"$t"'") | .cost_nusd] | add // "none"' <<<"$body" 2>&1)" \
    "$(sql "SELECT sum(cost_nusd) FROM events WHERE tenant_id = '$t'")"
  other=$([ "$t" = alpha ] && echo delta || echo alpha)
  expect_eq "reporter: $t's key is refused $other's costs" \
    "$(ip netns exec "$MH_AGENT_B" curl -s -o /dev/null -w '%{http_code}' --max-time 20 \
      -H "Authorization: Bearer $key" "$REPORTER_URL/api/v1/costs?tenant=$other")" 403
done

# --- clean stop -------------------------------------------------------------------------------
for pid in "$INGEST2_PID" "$AGG_PID" "$REPORTER_PID"; do kill -TERM "$pid" 2>/dev/null; done
stopped() { ! alive "$INGEST2_PID" && ! alive "$AGG_PID" && ! alive "$REPORTER_PID"; }
wait_until 15 "the services to stop on SIGTERM" stopped
echo "time: ${SECONDS}s"
it_done
