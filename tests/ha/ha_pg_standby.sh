#!/usr/bin/env bash
# ha_pg_standby (issue 20): PostgreSQL's own streaming replication under fleetcost.
#
# Two private clusters of Debian's PostgreSQL on free 127.0.0.1 ports, in a scratch
# directory removed on exit: a primary, and a hot standby made with `pg_basebackup -R`
# and kept synchronous (synchronous_standby_names = '*': a commit, and so an ingest ack,
# waits until the standby has the WAL on disk). A real ingest writes to them through
# one multi-host libpq URL (host=primary,standby, target_session_attrs=read-write); a
# real reporter reads the standby (--pg-reader-url); `fleetcost simulate` is the load.
#   1. Reports (every period, json and csv) and the billing export read from the
#      standby equal the primary's once it has caught up; the reporter's /metrics says
#      it reads a standby, 0 behind.
#   2. Replay paused on the standby: /metrics and the dashboard show the lag, the
#      standby's report is behind the primary's (so the reports really came from the
#      standby); replay resumed, they are equal again.
#   3. The primary is stopped with `pg_ctl stop -m immediate` (a crash: no shutdown
#      checkpoint, clients cut) mid-stream, and the standby promoted. The ingest finds
#      the new primary through the same URL, the clients resend what was not acked from
#      their spools, and exactly-once holds: nothing left in any spool, no rejection,
#      every event id stored once, and the stored count equals what the clients were
#      told (acked + duplicate).
# Measured and printed (docs/SCALING.md): kill -> promoted, kill -> first commit on the
# new primary, events that were resent and absorbed as duplicates.
#   ha_pg_standby.sh <fleetcost> <fleetcost-ingest> <fleetcost-reporter> <source root>
fleetcost=${1:?usage: ha_pg_standby.sh <fleetcost> <ingest> <reporter> <source root>}
ingest_bin=${2:?} reporter_bin=${3:?} root=${4:?}
. "$root/tests/integration/lib.sh"
bin=${FLEETCOST_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$bin/pg_ctl" ] || it_die "PostgreSQL server binaries not found (FLEETCOST_PG_BIN)"
command -v curl >/dev/null || it_die "curl is not installed"
IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fc_ha_pg.XXXXXX")
[ -n "${HA_KEEP:-}" ] && echo "scratch (HA_KEEP: kept): $IT_TMP"
chmod 755 "$IT_TMP"
read -r p1 p2 p_in p_pub p_http < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(5)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')

# The server refuses to run as root: as root, run its tools as postgres.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_ctl_() { # pg_ctl_ <node> <port> <action...>
  local node=$1 port=$2
  shift 2
  as_pg "$bin/pg_ctl" -D "$IT_TMP/$node/data" -l "$IT_TMP/$node/server.log" -w -t 60 -o \
    "-p $port -k $IT_TMP/$node -c listen_addresses=127.0.0.1 -c fsync=off" "$@" >/dev/null
}
ingest_pid= reporter_pid= sim_pid=
stop_all() {
  local p
  for p in $sim_pid $reporter_pid $ingest_pid; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  pg_ctl_ standby "$p2" stop -m immediate 2>/dev/null
  pg_ctl_ primary "$p1" stop -m immediate 2>/dev/null
  [ -n "${HA_KEEP:-}" ] || rm -rf "$IT_TMP"
}
trap stop_all EXIT

url() { echo "postgresql://$1@127.0.0.1:$2/fc_ha"; } # url <role> <port>
admin() { q "postgresql://postgres@127.0.0.1:$1/${3:-fc_ha}" "$2"; } # admin <port> <sql> [db]

echo "== a primary and a synchronous hot standby"
mkdir -p "$IT_TMP/primary" "$IT_TMP/standby"
[ "$(id -u)" -eq 0 ] && chown postgres: "$IT_TMP/primary" "$IT_TMP/standby"
as_pg "$bin/initdb" -D "$IT_TMP/primary/data" -U postgres -A trust --no-sync -E UTF8 \
  --locale=C.UTF-8 >"$IT_TMP/initdb.log" 2>&1 || it_die "initdb failed"
pg_ctl_ primary "$p1" start || it_die "primary did not start"
admin "$p1" "CREATE ROLE fleetcost LOGIN CREATEROLE; CREATE ROLE fleetcost_reader NOLOGIN;
  CREATE ROLE fleetcost_reporter LOGIN IN ROLE fleetcost_reader" postgres >/dev/null
admin "$p1" "CREATE DATABASE fc_ha OWNER fleetcost" postgres >/dev/null
"$fleetcost" migrate --pg-url "$(url fleetcost "$p1")" >/dev/null || it_die "migrate failed"
as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$IT_TMP/standby/data" -R \
  -X stream -c fast >"$IT_TMP/basebackup.log" 2>&1 || it_die "pg_basebackup failed"
pg_ctl_ standby "$p2" start || it_die "standby did not start"
expect_eq "the standby is in recovery" "$(admin "$p2" "SELECT pg_is_in_recovery()")" t
admin "$p1" "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null
admin "$p1" "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 200); do
  [ "$(admin "$p1" "SELECT sync_state FROM pg_stat_replication")" = sync ] && break
  sleep 0.05
done
expect_eq "the primary streams to it synchronously" \
  "$(admin "$p1" "SELECT state || ' ' || sync_state FROM pg_stat_replication")" "streaming sync"

# One URL for the ingest: libpq tries the hosts in order and keeps the one that accepts
# writes, so after a promotion the same URL finds the new primary.
ingest_url="postgresql://fleetcost@127.0.0.1:$p1,127.0.0.1:$p2/fc_ha?target_session_attrs=read-write&connect_timeout=2"
"$ingest_bin" --insecure --pg-url "$ingest_url" --ingest-id ha-pg --bind "tcp://127.0.0.1:$p_in" \
  --pub-bind "tcp://127.0.0.1:$p_pub" --metrics-port 0 --group-ms 2 >>"$IT_TMP/ingest.log" 2>&1 &
ingest_pid=$!
"$reporter_bin" --insecure --aggregator-pub "" --http-port "$p_http" \
  --pg-reader-url "$(url fleetcost_reporter "$p2")" >>"$IT_TMP/reporter.log" 2>&1 &
reporter_pid=$!

tenants=pg-a,pg-b,pg-c
runs=0
simulate() { # simulate <requests> <rate>: a fleet through the spool; output in sim<N>.log
  runs=$((runs + 1))
  "$fleetcost" simulate --ingest-endpoints "tcp://127.0.0.1:$p_in" --spool-dir "$IT_TMP/spool" \
    --tenants "$tenants" --hot "" --rate "$2" --requests "$1" --seed "$runs" --timeout-ms 60000 \
    >"$IT_TMP/sim$runs.log" 2>&1 && grep -q " 0 rejected, 0 left in the spool" "$IT_TMP/sim$runs.log"
}
caught_up() { # the standby has replayed everything the primary wrote
  [ "$(admin "$p2" "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '$(admin "$p1" "SELECT pg_current_wal_lsn()")') >= 0")" = t ]
}
metric() { # metric <name>: the reporter's value, or -1
  local v
  v=$(curl -sf --max-time 5 "http://127.0.0.1:$p_http/metrics" | awk -v m="fleetcost_reporter_$1" '$1 == m { print $2 }')
  echo "${v:--1}"
}
# reports <port> <dir>: every report and the billing export of today's period from that
# server, with what depends on the moment and not on the data taken out: the generation
# time, and runtime_seconds (an agent still running counts until the report is made).
reports() {
  local u port=$1 dir=$2 p f
  u=$(url fleetcost "$port")
  mkdir -p "$dir"
  for p in daily weekly monthly; do
    for f in json csv; do
      "$fleetcost" report --pg-url "$u" --all --period "$p" --date "$(date -u +%F)" --format "$f" \
        -o "$dir/$p.$f" ||
        echo "report $p $f failed on $port"
    done
  done
  "$fleetcost" billing --pg-url "$u" --month "$(date -u +%Y-%m)" --format csv -o "$dir/billing.csv" ||
    echo "billing failed on $port"
  sed -i -E 's/"generated_at": *"[^"]*"/"generated_at":""/; /^#? *generated/d;
    s/"runtime_seconds":[0-9]+/"runtime_seconds":0/g; s/runtime_seconds=[0-9]+/runtime_seconds=0/g' "$dir"/*
}
same_reports() { diff -r "$IT_TMP/r-$1" "$IT_TMP/r-$2" >"$IT_TMP/diff-$1-$2" 2>&1; }

echo "== 1. reports from the standby equal the primary's"
simulate 1500 1500
expect_eq "first stream acked, nothing left in the spool" "$?" 0
# Keys are written on the primary and read, like everything else, from the standby.
key=$("$fleetcost" key create --pg-url "$(url fleetcost "$p1")" --admin 2>/dev/null)
for _ in $(seq 1 200); do caught_up && break; sleep 0.05; done
check "the standby caught up" caught_up
reports "$p1" "$IT_TMP/r-primary1"
reports "$p2" "$IT_TMP/r-standby1"
check "reports hold this month's cost" grep -q '"cost_nusd": *[1-9]' "$IT_TMP/r-standby1/monthly.json"
check "every report and the billing export from the standby equal the primary's" \
  same_reports primary1 standby1
for _ in $(seq 1 100); do [ "$(metric reader_standby)" != -1 ] && break; sleep 0.1; done
expect_eq "the reporter says it reads a standby" "$(metric reader_standby)" 1
expect_eq "0 ms behind once caught up" "$(metric replay_lag_ms)" 0

echo "== 2. a standby behind: replay paused"
admin "$p2" "SELECT pg_wal_replay_pause()" >/dev/null
simulate 300 1000
expect_eq "stream acked while replay is paused (the standby still receives WAL)" "$?" 0
sleep 0.2 # the lag is age: let some pass so it cannot read 0 by rounding
check "/metrics shows the lag in bytes ($(metric replay_lag_bytes))" test "$(metric replay_lag_bytes)" -gt 0
check "/metrics shows the lag in ms ($(metric replay_lag_ms))" test "$(metric replay_lag_ms)" -gt 0
dash=$(curl -s --max-time 10 -H "Authorization: Bearer $key" "http://127.0.0.1:$p_http/dashboard")
check "the dashboard says it reads a standby, and how far behind" \
  grep -Eq 'data-replay-lag-ms="[1-9][0-9]*"' <<<"$dash"
reports "$p1" "$IT_TMP/r-primary2"
reports "$p2" "$IT_TMP/r-standby2"
check "the paused standby's reports are behind the primary's" \
  bash -c "! diff -q '$IT_TMP/r-primary2/monthly.json' '$IT_TMP/r-standby2/monthly.json' >/dev/null"
admin "$p2" "SELECT pg_wal_replay_resume()" >/dev/null
for _ in $(seq 1 200); do caught_up && break; sleep 0.05; done
reports "$p2" "$IT_TMP/r-standby3"
check "resumed, it equals the primary again" same_reports primary2 standby3

echo "== 3. the primary crashes mid-stream; the standby is promoted"
before=$(admin "$p1" "SELECT count(*) FROM events")
simulate 6000 600 &
sim_pid=$!
for _ in $(seq 1 200); do [ "$(admin "$p1" "SELECT count(*) FROM events")" -gt $((before + 500)) ] && break; sleep 0.05; done
t_kill=$(date +%s%3N)
pg_ctl_ primary "$p1" stop -m immediate
at_kill=$(admin "$p2" "SELECT count(*) FROM events")
as_pg "$bin/pg_ctl" -D "$IT_TMP/standby/data" -w -t 60 promote >/dev/null
t_promoted=$(date +%s%3N)
expect_eq "the standby is the primary now" "$(admin "$p2" "SELECT pg_is_in_recovery()")" f
t_write=
for _ in $(seq 1 600); do
  [ "$(admin "$p2" "SELECT count(*) FROM events")" -gt "$at_kill" ] && t_write=$(date +%s%3N) && break
  sleep 0.05
done
check "the ingest writes to the new primary through the same URL" test -n "$t_write"
wait "$sim_pid"
expect_eq "the stream across the failover was acked, nothing left in the spool" "$?" 0
sim_pid=
# "simulate: <n> requests, <a> events acked, <d> duplicate, <r> rejected, <l> left ..."
told=$(cat "$IT_TMP"/sim*.log | awk '/^simulate:/ { a += $4; d += $7 } END { print a + d }')
dups=$(cat "$IT_TMP"/sim*.log | awk '/^simulate:/ { d += $7 } END { print d + 0 }')
stored=$(admin "$p2" "SELECT count(*) FROM events")
expect_eq "exactly once: stored events = acked + duplicate over all runs ($told)" "$stored" "$told"
expect_eq "no event id stored twice" \
  "$(admin "$p2" "SELECT count(*) - count(DISTINCT event_id) FROM events")" 0
check "the ingest said postgres was gone, and came back" grep -q "postgres unavailable" "$IT_TMP/ingest.log"
expect_eq "the reporter, on the same server, now reads a primary" "$(metric reader_standby)" 0

if [ -n "$t_write" ]; then
  echo "measured: kill -> promoted $((t_promoted - t_kill)) ms, kill -> first commit on the new" \
    "primary $((t_write - t_kill)) ms; $stored events stored once each, $dups resent and" \
    "absorbed as duplicates, 0 lost"
fi
it_done
