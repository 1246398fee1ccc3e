#!/usr/bin/env bash
# it_demo: ./scripts/demo.sh as a newcomer runs it, non-interactively (--duration), on a
# stack of its own: its state directory is inside a 0700 directory and its path has a
# space (so the cluster goes to /var/tmp, as from a clone under /root), on free ports,
# beside the suite's stack. Checks that the first screen says in one line what runs and
# how to stop it, that the dashboard URL it prints opens (200, the dashboard's HTML,
# followed through the ?key= cookie redirect), that live totals are printed, and that
# it ends cleanly and stops the stack it started.
#   it_demo.sh <source root> <build dir>
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
root=${1:?usage: it_demo.sh <source root> <build dir>}
bin=${2:?usage: it_demo.sh <source root> <build dir>}
for tool in curl ss python3; do
  command -v "$tool" >/dev/null || it_die "$tool is missing: run scripts/deps.sh (packages curl, iproute2, python3)"
done

IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fc_it_demo.XXXXXX")
chmod 700 "$IT_TMP"
state="$IT_TMP/demo state"
demo_pid=
finish() {
  [ -n "$demo_pid" ] && kill -TERM "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
  FLEETCOST_STATE=$state "$root/scripts/stack.sh" purge >/dev/null 2>&1
  rm -rf "$IT_TMP"
}
trap finish EXIT

# Free ports: PostgreSQL, Redis, the dashboard, and a base whose +1..4, +11, +13, +14
# (the services' ports in demo.sh) are all free.
read -r pg_port redis_port http_port < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
base=
for try in $(shuf -i 200-290 -n 20); do
  b=$((try * 100))
  taken=0
  for off in 1 2 3 4 11 13 14; do
    [ -n "$(ss -ltnH "sport = :$((b + off))")" ] && taken=1
  done
  [ $taken -eq 0 ] && { base=$b; break; }
done
[ -n "$base" ] || it_die "no free port base for the demo's services"
echo "== it_demo: state '$state', ports pg $pg_port redis $redis_port http $http_port base $base"

mkdir -p "$state"
out=$IT_TMP/demo.out
FLEETCOST_STATE=$state FLEETCOST_PG_PORT=$pg_port FLEETCOST_REDIS_PORT=$redis_port \
  FLEETCOST_HTTP_PORT=$http_port FLEETCOST_DEMO_PORT_BASE=$base \
  "$root/scripts/demo.sh" --duration 25 --bin "$bin" >"$out" 2>&1 &
demo_pid=$!

url=
deadline=$((SECONDS + 90))
while [ $SECONDS -lt $deadline ] && kill -0 "$demo_pid" 2>/dev/null; do
  url=$(sed -n 's/^demo: dashboard  *\(http[^ ]*\)$/\1/p' "$out")
  [ -n "$url" ] && break
  sleep 0.2
done
check "demo printed a dashboard URL" test -n "$url"
check "the first screen says what runs and how to stop it, in one line" \
  grep -Eq '^demo: running: ingest, aggregator, alerter, reporter, 4 simulated agent hosts .*Ctrl-C stops them all' "$out"
check "the URL is on this machine's loopback, on the chosen port" \
  grep -q "^http://127.0.0.1:$http_port/dashboard?key=fck_" <<<"$url"

code=$(curl -s -L -c "$IT_TMP/jar" -b "$IT_TMP/jar" --max-time 20 -o "$IT_TMP/dash.html" -w '%{http_code}' "$url")
expect_eq "the dashboard URL opens (after the ?key= cookie redirect)" "$code" 200
check "it is the dashboard: the cost-by-tenant chart" grep -q 'id="chart-tenant"' "$IT_TMP/dash.html"
check "it is the dashboard: the live total" grep -q 'id="total-range"' "$IT_TMP/dash.html"

# Live totals: wait (deadline) for a totals line with events for initech, the hot tenant.
totals_seen() { grep -Eq '^demo: +initech +\$ *[0-9.]+ .* [1-9][0-9]*$' "$out"; }
deadline=$((SECONDS + 30))
until totals_seen || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
check "live totals printed, with initech's events counted" totals_seen

# --duration 25: it stops by itself, exits 0 and stops the stack it started.
deadline=$((SECONDS + 90))
while kill -0 "$demo_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
if kill -0 "$demo_pid" 2>/dev/null; then
  check "demo ended by itself after --duration" false
else
  wait "$demo_pid"
  expect_eq "demo exits 0 after --duration" "$?" 0
  demo_pid=
fi
check "demo said it stopped" grep -q '^demo: stopping' "$out"
expect_eq "the stack it started is down" \
  "$(FLEETCOST_STATE=$state FLEETCOST_PG_PORT=$pg_port FLEETCOST_REDIS_PORT=$redis_port "$root/scripts/stack.sh" status | cut -d' ' -f1-2 | tr '\n' ' ')" \
  "postgres: stopped redis: stopped "
check "nothing listens on the dashboard port any more" test -z "$(ss -ltnH "sport = :$http_port")"
[ "$IT_FAILURES" -eq 0 ] || { echo "--- demo output"; cat "$out"; }
it_done
