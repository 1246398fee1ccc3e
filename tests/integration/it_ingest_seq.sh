#!/usr/bin/env bash
# it_ingest_seq (issue 22): an ingest's stream seq never goes back, whatever happened to
# its rows in `events`, and when it does go back (a restore) the aggregator notices and
# re-synchronises instead of dropping the new events as replays. A real ingest, a real
# aggregator, a private redis-server and a database of its own; each phase uses an
# ingest id of its own:
#   1. retention: the ingest's only events are 10 days old; `fleetcost retention`
#      drops every partition holding them; the ingest restarts and new tenants' events
#      reach Redis exactly (before the fix it restarted at seq 0 and the aggregator
#      silently dropped them);
#   2. manual deletion: every row of the ingest deleted by hand, the same;
#   3. restore: the ingest's newest events and its ingest_state go back to an earlier
#      seq, as a restore from a backup does; the restarted ingest's run begins below
#      what the aggregator handled: it re-synchronises the tenants concerned;
#   4. the same restore while the ingest stays down, found by the aggregator's poll of
#      Postgres (a restarted aggregator, short heartbeat timeout), then the ingest
#      returns;
#   5. the same restore while the aggregator is down, and the new run goes past the
#      aggregator's old progress before it returns: only the run's base tells it what
#      happened (a seq comparison alone would take the new seqs for a gap).
# At the end of each phase Redis equals SQL exactly (every day and month figure,
# breakdown, agent set and task cost) for the tenants whose events are still in SQL
# (Redis keeps the totals of rows removed on purpose: that is not what is tested), and
# the aggregator's /metrics says whether it saw a regression.
#   it_ingest_seq.sh <fleetcost> <fleetcost-ingest> <fleetcost-aggregator> <source root>
fleetcost=${1:?usage: it_ingest_seq.sh <fleetcost> <ingest> <aggregator> <source root>}
ingest_bin=${2:?} aggregator_bin=${3:?} root=${4:?}
. "$(dirname "$0")/lib.sh"
it_setup ingest_seq
command -v curl >/dev/null || it_die "curl is not installed"

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
read -r p_redis p_in p_pub p_met p_sum < <(it_free_ports 5)
it_redis_start "$p_redis"
ingest_pid= agg_pid=
stop_all() {
  [ -n "$ingest_pid" ] && kill "$ingest_pid" 2>/dev/null
  [ -n "$agg_pid" ] && kill "$agg_pid" 2>/dev/null
  wait 2>/dev/null
  it_redis_stop
  it_cleanup
}
trap stop_all EXIT

start_ingest() { # start_ingest <ingest id>
  "$ingest_bin" --insecure --pg-url "$IT_URL" --ingest-id "$1" --bind "tcp://127.0.0.1:$p_in" \
    --pub-bind "tcp://127.0.0.1:$p_pub" --metrics-port 0 --group-ms 2 >>"$IT_TMP/ingest.log" 2>&1 &
  ingest_pid=$!
}
stop_ingest() {
  kill "$ingest_pid" && wait "$ingest_pid"
  ingest_pid=
}
start_aggregator() { # start_aggregator <heartbeat timeout ms>
  "$aggregator_bin" --insecure --pg-url "$IT_URL" --redis-url "redis://127.0.0.1:$p_redis/0" \
    --ingest-pub "tcp://127.0.0.1:$p_pub" --bind "tcp://127.0.0.1:$p_sum" --metrics-port "$p_met" \
    --interval-ms 200 --rollup-ms 500 --heartbeat-timeout-ms "$1" >>"$IT_TMP/aggregator.log" 2>&1 &
  agg_pid=$!
}
metric() { # metric <name>: the aggregator's value, or -1
  local v
  v=$(curl -sf --max-time 2 "http://127.0.0.1:$p_met/metrics" | awk -v m="fleetcost_aggregator_$1" '$1 == m { print $2 }')
  echo "${v:--1}"
}
last_seq() { q "$IT_URL" "SELECT coalesce((SELECT last_seq FROM ingest_state WHERE ingest_id = '$1'), 0)"; }
# restore <ingest id> <seq>: the database as a backup taken at that seq would put it back
restore() {
  q "$IT_URL" "DELETE FROM events WHERE ingest_id = '$1' AND seq > $2;
               UPDATE ingest_state SET last_seq = $2 WHERE ingest_id = '$1'" >/dev/null
}
# send_past <ingest id> <seq> <tenant,...>: batches of 200 events until the ingest's seq
# is past <seq>: how many seqs a send makes depends on how ingest groups them (timing),
# which is not under test.
send_past() {
  for _ in $(seq 1 20); do
    send 200 0 "$3"
    [ "$(last_seq "$1")" -gt "$2" ] && break
  done
  check "the new run went past the old progress ($2)" test "$(last_seq "$1")" -gt "$2"
}

# send <n> <days back> <tenant,...>: n usage and cost events spread over the tenants,
# dated that many days back (within that day), through `fleetcost emit --stdin`; every
# one must be stored.
batch=0
send() {
  local n=$1 back=$2 tenants=$3 out
  batch=$((batch + 1))
  out=$(python3 - "$n" "$back" "$tenants" "$batch" <<'PY' |
import json, random, sys, time
n, back, tenants, seed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(","), int(sys.argv[4])
rnd = random.Random(seed)
day0 = (int(time.time()) // 86400 - back) * 86400
now = int(time.time())
for i in range(n):
    t = day0 + rnd.randrange(0, 86400)
    if back == 0:
        t = rnd.randrange(day0, now)
    ev = {"tenant": tenants[i % len(tenants)], "agent": "agent-%d" % rnd.randrange(8),
          "agent_type": rnd.choice(["coder", "reviewer"]), "time": t}
    if rnd.randrange(5):
        ev["task"] = "task-%d" % rnd.randrange(6)
    if rnd.randrange(10) == 0:
        ev.update(type="cost", kind=rnd.choice(["runtime", "mcp"]),
                  cost="%d.%06d" % (rnd.randrange(3), rnd.randrange(10**6)))
    else:
        ev.update(type="usage", model=rnd.choice(["claude-sonnet-4-5", "claude-haiku-4-5"]),
                  input_tokens=rnd.randrange(40000), output_tokens=rnd.randrange(4000),
                  cache_read_tokens=rnd.randrange(90000))
    print(json.dumps(ev))
PY
    "$fleetcost" emit --stdin --ingest-endpoints "tcp://127.0.0.1:$p_in" \
      --spool-dir "$IT_TMP/spool" --timeout-ms 30000 2>&1)
  local rc=$?
  expect_eq "batch $batch: $n events to $tenants, $back days back, all stored" \
    "$rc $(grep '^emit: [0-9]* acked' <<<"$out")" \
    "0 emit: $n acked, 0 duplicate, 0 rejected, 0 spooled, 0 malformed lines"
}

# exact <what> <tenant,...>: waits (bounded) until Redis equals SQL for those tenants.
exact() {
  local deadline=$(($(date +%s) + 60)) out
  until python3 "$root/tests/soak/check_totals.py" "$IT_URL" "$p_redis" --tenants "$2" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.3
  done
  out=$(python3 "$root/tests/soak/check_totals.py" "$IT_URL" "$p_redis" --verbose --tenants "$2")
  local rc=$?
  echo "$out" | head -n 12
  expect_eq "$1: Redis = SQL for $2" "$rc" 0
  check "$1: SQL holds events of $2" test "$(q "$IT_URL" "SELECT count(*) FROM events
    WHERE tenant_id = ANY (string_to_array('$2', ','))")" -gt 0
}

start_aggregator 600000
for _ in $(seq 1 100); do [ "$(metric rebuilds_total)" -ge 1 ] 2>/dev/null && break; sleep 0.1; done
expect_eq "aggregator ready (built its empty shard)" "$(metric rebuilds_total)" 1

echo "== 1. retention drops every partition holding the ingest's events"
start_ingest it-seq-r
send 400 10 r-old
exact "phase 1 before" r-old
s1=$(last_seq it-seq-r)
stop_ingest
"$fleetcost" retention --pg-url "$IT_URL" --keep-days 7 >"$IT_TMP/retention.out" 2>&1
expect_eq "retention exits 0" "$?" 0
expect_eq "no event of the ingest is left" \
  "$(q "$IT_URL" "SELECT count(*) FROM events WHERE ingest_id = 'it-seq-r'")" 0
start_ingest it-seq-r
send 3000 0 r-new1,r-new2
expect_eq "the seq continued from ingest_state" \
  "$(q "$IT_URL" "SELECT min(seq) FROM events WHERE ingest_id = 'it-seq-r'")" "$((s1 + 1))"
exact "phase 1" r-new1,r-new2
check "ingest logged where it continues" grep -q "last seq $s1 (run" "$IT_TMP/ingest.log"
expect_eq "no regression seen by the aggregator" "$(metric seq_regressions_total)" 0
stop_ingest

echo "== 2. every row of the ingest deleted by hand"
start_ingest it-seq-m
send 400 1 m-old
exact "phase 2 before" m-old
s2=$(last_seq it-seq-m)
stop_ingest
q "$IT_URL" "DELETE FROM events WHERE ingest_id = 'it-seq-m'" >/dev/null
start_ingest it-seq-m
send 3000 0 m-new1,m-new2
expect_eq "the seq continued from ingest_state" \
  "$(q "$IT_URL" "SELECT min(seq) FROM events WHERE ingest_id = 'it-seq-m'")" "$((s2 + 1))"
exact "phase 2" m-new1,m-new2
expect_eq "no regression seen by the aggregator" "$(metric seq_regressions_total)" 0
stop_ingest

echo "== 3. a restore puts the ingest back: its new run begins below the aggregator's progress"
start_ingest it-seq-x
send 400 0 x-a
s3=$(last_seq it-seq-x)
send 600 0 x-a,x-b
exact "phase 3 before" x-a,x-b
stop_ingest
# The backup was taken at seq s3: the later events and seqs are not in it.
restore it-seq-x "$s3"
start_ingest it-seq-x
send 1500 0 x-a,x-b,x-c
exact "phase 3" x-a,x-b,x-c
expect_eq "the aggregator saw one regression" "$(metric seq_regressions_total)" 1
expect_eq "it rebuilt the two tenants with seqs above the restore point" \
  "$(metric resync_tenants_total)" 2
check "it said so in its log" grep -q "it-seq-x': seq went back: run" "$IT_TMP/aggregator.log"
stop_ingest

echo "== 4. the same restore while the ingest is down, found from Postgres"
start_ingest it-seq-y
send 300 0 y-a
s4=$(last_seq it-seq-y)
send 300 0 y-a,y-b
exact "phase 4 before" y-a,y-b
stop_ingest
kill "$agg_pid" && wait "$agg_pid"
start_aggregator 1000
restore it-seq-y "$s4"
for _ in $(seq 1 100); do [ "$(metric seq_regressions_total)" -ge 1 ] 2>/dev/null && break; sleep 0.1; done
expect_eq "the restarted aggregator found the regression in Postgres" \
  "$(metric seq_regressions_total)" 1
exact "phase 4 while the ingest is down" y-a,y-b
# The ingest returns while the aggregator cannot hear it (stopped, as a loaded machine
# may leave it): resumed, it polls the still-silent ingest in Postgres and catches up the
# new run's commits before the run's first heartbeat names where the run began. That is
# a restart, not another regression (CI once counted two here).
kill -STOP "$agg_pid"
start_ingest it-seq-y
send 1000 0 y-a,y-b,y-c
kill -CONT "$agg_pid"
exact "phase 4" y-a,y-b,y-c
expect_eq "the returning ingest continued without another regression" \
  "$(metric seq_regressions_total)" 1
check "the poll caught up the new run before it spoke, and the run was taken as a restart" \
  grep -q "it-seq-y': run [0-9]* begins after seq $s4 (handled up to $s4; its seqs since caught up" \
  "$IT_TMP/aggregator.log"
check "the aggregator logged the postgres check" grep -q "it-seq-y': postgres has seqs up to $s4" \
  "$IT_TMP/aggregator.log"
stop_ingest

echo "== 5. a restore while the aggregator is down; the new run passes its old progress"
kill "$agg_pid" && wait "$agg_pid"
start_aggregator 600000
start_ingest it-seq-z
send 300 0 z-a
s5=$(last_seq it-seq-z)
send 300 0 z-a,z-b
send 300 0 z-b
exact "phase 5 before" z-a,z-b
old=$(last_seq it-seq-z)
stop_ingest
kill "$agg_pid" && wait "$agg_pid"
restore it-seq-z "$s5"
start_ingest it-seq-z
send_past it-seq-z "$old" z-a,z-c
start_aggregator 600000
exact "phase 5" z-a,z-b,z-c
expect_eq "the returning aggregator saw one regression" "$(metric seq_regressions_total)" 1
stop_ingest

echo "== 6. a restore neither side sees before the new run commits past the old progress"
# The aggregator stopped (as in phase 4) while the state is restored and the new run
# commits beyond what it had handled: resumed, its poll may catch up the new run's seqs
# above the old progress, but the run began below it, so it is still a regression.
kill "$agg_pid" && wait "$agg_pid"
start_aggregator 1000
start_ingest it-seq-w
send 300 0 w-a
s6=$(last_seq it-seq-w)
send 300 0 w-a,w-b
exact "phase 6 before" w-a,w-b
old=$(last_seq it-seq-w)
stop_ingest
kill -STOP "$agg_pid"
restore it-seq-w "$s6"
start_ingest it-seq-w
send_past it-seq-w "$old" w-a,w-c
kill -CONT "$agg_pid"
exact "phase 6" w-a,w-b,w-c
expect_eq "the resumed aggregator saw one regression" "$(metric seq_regressions_total)" 1
stop_ingest

if [ "$IT_FAILURES" -gt 0 ]; then
  echo "== aggregator log, runs and regressions:"
  grep -E "run [0-9]+ begins|went back|re-synchronis|caught up|silent|heartbeat|stopped" \
    "$IT_TMP/aggregator.log" | tail -n 60
  echo "== aggregator log:"
  tail -n 40 "$IT_TMP/aggregator.log"
  echo "== ingest log:"
  tail -n 20 "$IT_TMP/ingest.log"
fi
it_done
