#!/usr/bin/env bash
# ha_redis_sentinel (issue 20): the aggregator finds the Redis master through Sentinel,
# follows a failover, and the totals on the new master end exactly equal to SQL,
# including the increments the old master acknowledged but never sent to the replica.
#
# Everything runs on 127.0.0.1, on free ports, in a scratch directory removed on exit: a
# Redis master, a replica, three Sentinels (quorum 2), a real ingest and a real
# aggregator (--redis-sentinels, no --redis-url host), `fleetcost simulate` as the load,
# and a database of its own on the stack's Postgres.
#   1. Steady state: Redis (the master the sentinels name) equals SQL.
#   2. Replication is cut (the replica is given a master password the master does not
#      have, so it cannot resync) while the stream goes on: the master holds messages
#      the replica lacks, checked on the replica's own copy of the shard's progress.
#   3. The master is killed (SIGKILL) mid-stream. The sentinels promote the replica;
#      the aggregator reconnects to it, finds its progress behind (redis_rewinds_total)
#      and re-applies the lost messages from Postgres.
#   4. After the stream, the new master equals SQL exactly (tests/soak/check_totals.py:
#      every day and month figure, breakdown, agent set and task cost).
# Measured and printed (docs/SCALING.md): kill -> promotion seen by the sentinels, kill
# -> first write of the aggregator on the new master, kill -> totals exact again, and
# the events committed in Postgres while the aggregator had no master (delayed, not lost).
#   ha_redis_sentinel.sh <fleetcost> <fleetcost-ingest> <fleetcost-aggregator> <source root>
fleetcost=${1:?usage: ha_redis_sentinel.sh <fleetcost> <ingest> <aggregator> <source root>}
ingest_bin=${2:?} aggregator_bin=${3:?} root=${4:?}
. "$root/tests/integration/lib.sh"
it_setup ha_redis
command -v redis-server >/dev/null || it_die "redis-server is not installed"
command -v redis-cli >/dev/null || it_die "redis-cli is not installed"
command -v curl >/dev/null || it_die "curl is not installed"
"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"

read -r p_m p_r p_s1 p_s2 p_s3 p_in p_pub p_met p_sum < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(9)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
name=fcha
ingest_pid= agg_pid= sim_pid=
stop_all() {
  local p
  for p in $sim_pid $agg_pid $ingest_pid; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  for p in "$IT_TMP"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  it_cleanup
}
trap stop_all EXIT

# redis_start <label> <port> [extra redis-server args...]: a daemonized server.
redis_start() {
  local label=$1 port=$2
  shift 2
  mkdir -p "$IT_TMP/$label"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$IT_TMP/$label" --save "" --appendonly no \
    --daemonize yes --pidfile "$IT_TMP/$label.pid" --logfile "$IT_TMP/$label.log" "$@" >/dev/null ||
    it_die "redis-server $label did not start"
  for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return; sleep 0.05; done
  it_die "redis-server $label does not answer"
}
rcli() { redis-cli -p "$@" 2>/dev/null; }
# info_field <port> <section> <field>
info_field() { rcli "$1" INFO "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'; }
now_ms() { date +%s%3N; }

redis_start master "$p_m"
redis_start replica "$p_r" --replicaof 127.0.0.1 "$p_m"
for _ in $(seq 1 100); do [ "$(info_field "$p_r" replication master_link_status)" = up ] && break; sleep 0.05; done
expect_eq "the replica follows the master" "$(info_field "$p_r" replication master_link_status)" up
# Failover in seconds, not the default half minute: a master is down after 1 s silent.
for i in 1 2 3; do
  port_var=p_s$i
  cat >"$IT_TMP/sentinel$i.conf" <<EOF
port ${!port_var}
bind 127.0.0.1
daemonize yes
pidfile $IT_TMP/sentinel$i.pid
logfile $IT_TMP/sentinel$i.log
dir $IT_TMP
sentinel monitor $name 127.0.0.1 $p_m 2
sentinel down-after-milliseconds $name 1000
sentinel failover-timeout $name 10000
sentinel parallel-syncs $name 1
EOF
  redis-server "$IT_TMP/sentinel$i.conf" --sentinel >/dev/null || it_die "sentinel $i did not start"
done
sentinels="127.0.0.1:$p_s1,127.0.0.1:$p_s2,127.0.0.1:$p_s3"
# The sentinels find each other and the replica through the master (hello messages).
for _ in $(seq 1 300); do
  grep -q "^OK 3 usable" <<<"$(rcli "$p_s1" SENTINEL CKQUORUM "$name")" &&
    [ "$(rcli "$p_s1" SENTINEL REPLICAS "$name" | grep -c "^127.0.0.1$")" -ge 1 ] && break
  sleep 0.1
done
check "three sentinels agree on the master and know the replica" \
  grep -q "^OK 3 usable" <<<"$(rcli "$p_s1" SENTINEL CKQUORUM "$name")"

"$ingest_bin" --insecure --pg-url "$IT_URL" --ingest-id ha-redis --bind "tcp://127.0.0.1:$p_in" \
  --pub-bind "tcp://127.0.0.1:$p_pub" --metrics-port 0 --group-ms 2 >>"$IT_TMP/ingest.log" 2>&1 &
ingest_pid=$!
# No host in --redis-url: only the sentinels say where the master is. Its port there
# (1) would refuse, so a fallback to the URL could not pass unnoticed.
"$aggregator_bin" --insecure --pg-url "$IT_URL" --redis-url "redis://127.0.0.1:1/0" \
  --redis-sentinels "$sentinels" --redis-master-name "$name" \
  --ingest-pub "tcp://127.0.0.1:$p_pub" --bind "tcp://127.0.0.1:$p_sum" --metrics-port "$p_met" \
  --interval-ms 200 --rollup-ms 500 --heartbeat-timeout-ms 1000 >>"$IT_TMP/aggregator.log" 2>&1 &
agg_pid=$!
metric() { # metric <name>: the aggregator's value, or -1
  local v
  v=$(curl -sf --max-time 2 "http://127.0.0.1:$p_met/metrics" | awk -v m="fleetcost_aggregator_$1" '$1 == m { print $2 }')
  echo "${v:--1}"
}
for _ in $(seq 1 200); do [ "$(metric rebuilds_total)" -ge 1 ] 2>/dev/null && break; sleep 0.05; done
expect_eq "aggregator ready (built its empty shard on the master)" "$(metric rebuilds_total)" 1
check "it connected to the master the sentinels named" \
  grep -q "redis 127.0.0.1:$p_m/0 connected" "$IT_TMP/aggregator.log"

tenants=ha-a,ha-b,ha-c
simulate() { # simulate <requests> <rate> <seed> <log>: exits 0 when all was acked
  "$fleetcost" simulate --ingest-endpoints "tcp://127.0.0.1:$p_in" --spool-dir "$IT_TMP/spool" \
    --tenants "$tenants" --hot "" --rate "$2" --requests "$1" --seed "$3" --timeout-ms 30000 \
    >>"$4" 2>&1 && grep -q " 0 rejected, 0 left in the spool" "$4"
}
# exact <what> <port>: waits (bounded) until Redis on that port equals SQL.
exact() {
  local deadline=$(($(date +%s) + 60)) out rc
  until python3 "$root/tests/soak/check_totals.py" "$IT_URL" "$2" --tenants "$tenants" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.2
  done
  out=$(python3 "$root/tests/soak/check_totals.py" "$IT_URL" "$2" --verbose --tenants "$tenants")
  rc=$?
  head -n 12 <<<"$out"
  expect_eq "$1: Redis = SQL" "$rc" 0
}
events() { q "$IT_URL" "SELECT count(*) FROM events WHERE cost_kind IS NOT NULL"; }
progress() { # progress <port>: the shard's progress of our ingest in that server
  local v
  v=$(rcli "$1" HGET fc:agg:0-1:progress ha-redis)
  echo "${v:-0}"
}

echo "== 1. steady state through the sentinels"
simulate 1500 1500 1 "$IT_TMP/sim1.log"
expect_eq "first stream acked" "$?" 0
exact "phase 1 on the master" "$p_m"
check "SQL holds the first stream" test "$(events)" -gt 0
for _ in $(seq 1 100); do [ "$(progress "$p_r")" = "$(progress "$p_m")" ] && break; sleep 0.05; done
expect_eq "the replica has everything so far" "$(progress "$p_r")" "$(progress "$p_m")"

echo "== 2. replication cut while the stream goes on"
simulate 6000 600 2 "$IT_TMP/sim2.log" &
sim_pid=$!
rcli "$p_r" CONFIG SET masterauth not-the-masters-password >/dev/null
rcli "$p_r" CLIENT KILL TYPE master >/dev/null
cut_progress=$(progress "$p_r")
# Wait until the master has persisted progress well past what the replica holds (the
# aggregator writes it every second), so increments the replica lacks are certain.
for _ in $(seq 1 100); do [ "$(progress "$p_m")" -gt $((cut_progress + 5)) ] && break; sleep 0.1; done
expect_eq "the replica's link is down" "$(info_field "$p_r" replication master_link_status)" down
lost_m=$(progress "$p_m") lost_r=$(progress "$p_r")
check "the master holds messages the replica lacks (progress $lost_m > $lost_r)" \
  test "$lost_m" -gt "$lost_r"

echo "== 3. the master dies mid-stream"
events_at_kill=$(events)
caught_before=$(metric caught_up_messages_total)
t_kill=$(now_ms)
kill -9 "$(cat "$IT_TMP/master.pid")" && rm -f "$IT_TMP/master.pid"
t_promoted= t_conn= t_written=
for _ in $(seq 1 600); do
  if [ -z "$t_promoted" ] && [ "$(rcli "$p_s1" SENTINEL GET-MASTER-ADDR-BY-NAME "$name" | tail -n 1)" = "$p_r" ]; then
    t_promoted=$(now_ms)
  fi
  if [ -z "$t_conn" ] && [ "$(metric redis_rewinds_total)" -ge 1 ] 2>/dev/null; then
    t_conn=$(now_ms)
  fi
  if [ -z "$t_written" ] && [ -n "$t_conn" ] && [ "$(progress "$p_r")" -gt "$lost_r" ]; then
    t_written=$(now_ms)
    events_at_write=$(events)
  fi
  [ -n "$t_promoted" ] && [ -n "$t_written" ] && break
  sleep 0.05
done
check "the sentinels promoted the replica" test -n "$t_promoted"
check "the aggregator writes to the new master" test -n "$t_written"
expect_eq "the new master says so" "$(rcli "$p_r" ROLE | head -n 1)" master
check "the aggregator logged the new master" \
  grep -q "redis 127.0.0.1:$p_r/0 connected" "$IT_TMP/aggregator.log"
rewinds=$(metric redis_rewinds_total)
check "it took its progress back to the new master's ($rewinds)" test "$rewinds" -ge 1
wait "$sim_pid"
expect_eq "second stream acked" "$?" 0
sim_pid=
exact "after the failover, on the new master" "$p_r"
caught=$(($(metric caught_up_messages_total) - caught_before))
check "the aggregator re-applied from postgres at least the $((lost_m - lost_r)) messages the replica lacked ($caught)" \
  test "$caught" -ge $((lost_m - lost_r))

echo "== 4. and the stream goes on on the new master"
simulate 1000 1000 3 "$IT_TMP/sim3.log"
expect_eq "third stream acked" "$?" 0
exact "phase 4 on the new master" "$p_r"
expect_eq "no further rewinds" "$(metric redis_rewinds_total)" "$rewinds"
expect_eq "no full rebuild was needed" "$(metric rebuilds_total)" 1

if [ -n "$t_promoted" ] && [ -n "$t_written" ]; then
  echo "measured: kill -> promotion $((t_promoted - t_kill)) ms, kill -> aggregator on the new" \
    "master $((t_conn - t_kill)) ms, kill -> its progress written there $((t_written - t_kill)) ms;" \
    "$((events_at_write - events_at_kill)) events committed meanwhile (delayed, none lost);" \
    "progress master $lost_m / replica $lost_r at the kill"
fi
it_done
