# Shared helpers for the shell integration tests; source it, then call it_setup <name>.
#
# Each test gets its own database, fc_test_<name>, created through FLEETCOST_PG_ADMIN_URL
# (owned by the owner role of FLEETCOST_PG_URL) and dropped on exit, so tests run in
# parallel without seeing each other. After it_setup:
#   IT_DB            the database name
#   IT_URL           FLEETCOST_PG_URL pointed at it (owner)
#   IT_ADMIN_URL     FLEETCOST_PG_ADMIN_URL pointed at it (superuser)
#   IT_READER_URL    FLEETCOST_PG_READER_URL pointed at it (reader, RLS applies)
#   IT_TMP           a scratch directory, removed on exit
# Checks: check <what> <command...>, expect_eq <what> <actual> <expected>; each failure is
# printed and counted, and it_done exits non-zero if any check failed. The URLs must be
# postgresql:// URIs (the database is the path).
set -uo pipefail

IT_FAILURES=0
IT_CHECKS=0

it_die() {
  echo "FATAL: $*" >&2
  IT_FAILURES=$((IT_FAILURES + 1)) # it_cleanup then shows the services' logs
  exit 2
}

# Runs SQL through psql, stops at the first error, prints rows unaligned without headers.
#   q <url> <sql>       (sql may also come on stdin with "-")
q() {
  local url=$1 sql=$2
  if [ "$sql" = "-" ]; then
    psql -X -q -At -v ON_ERROR_STOP=1 "$url"
  else
    psql -X -q -At -v ON_ERROR_STOP=1 "$url" -c "$sql"
  fi
}

# Prints url with its database (the URI path) replaced by $2.
it_url_db() {
  local url=$1 db=$2
  case "$url" in
    postgres://* | postgresql://*) ;;
    *) it_die "not a postgresql:// URI: a test database cannot be derived from it" ;;
  esac
  echo "$url" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$db#"
}

it_cleanup() {
  # A failed test shows the last lines of its services' logs before they go: a flake
  # that happens only under CI's load then names its cause in the run's output.
  if [ "${IT_FAILURES:-0}" -gt 0 ] && [ -n "${IT_TMP:-}" ] && [ -d "$IT_TMP" ]; then
    local log
    for log in "$IT_TMP"/*.log; do
      [ -s "$log" ] || continue
      echo "-- last 30 lines of $(basename "$log") --"
      tail -n 30 "$log"
    done
  fi
  if [ -n "${IT_DB:-}" ] && [ -z "${IT_KEEP:-}" ]; then
    q "$FLEETCOST_PG_ADMIN_URL" "DROP DATABASE IF EXISTS $IT_DB WITH (FORCE)" >/dev/null 2>&1 ||
      echo "warning: could not drop $IT_DB" >&2
  fi
  [ -n "${IT_TMP:-}" ] && rm -rf "$IT_TMP"
}

# it_setup <name>: fresh database fc_test_<name> and scratch directory, both removed on
# exit (set IT_KEEP=1 to keep the database for a post-mortem).
it_setup() {
  local name=$1
  for v in FLEETCOST_PG_URL FLEETCOST_PG_ADMIN_URL FLEETCOST_PG_READER_URL; do
    [ -n "${!v:-}" ] || it_die "$v is not set: run scripts/stack.sh up and source .fleetcost/env"
  done
  command -v psql >/dev/null || it_die "psql is not installed"
  IT_DB="fc_test_$name"
  local owner
  owner=$(q "$FLEETCOST_PG_URL" "SELECT current_user") || it_die "cannot connect as owner"
  IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fc_it_$name.XXXXXX")
  trap it_cleanup EXIT
  # Every curl of the test has a deadline (curl reads $CURL_HOME/.curlrc first; a call's
  # own --max-time wins): a server that accepts and never answers fails the check that
  # asked, with curl's "timed out" status 28, instead of holding the whole test until
  # ctest kills it with nothing said. A file, not a shell function, so that `curl … &`
  # is curl itself and `kill $!` stops it.
  printf 'max-time = %s\n' "${IT_CURL_MAX_TIME:-60}" >"$IT_TMP/.curlrc"
  export CURL_HOME=$IT_TMP
  q "$FLEETCOST_PG_ADMIN_URL" "DROP DATABASE IF EXISTS $IT_DB WITH (FORCE)" >/dev/null ||
    it_die "cannot drop an old $IT_DB"
  q "$FLEETCOST_PG_ADMIN_URL" "CREATE DATABASE $IT_DB OWNER \"$owner\"" ||
    it_die "cannot create $IT_DB"
  IT_URL=$(it_url_db "$FLEETCOST_PG_URL" "$IT_DB")
  IT_ADMIN_URL=$(it_url_db "$FLEETCOST_PG_ADMIN_URL" "$IT_DB")
  IT_READER_URL=$(it_url_db "$FLEETCOST_PG_READER_URL" "$IT_DB")
  echo "== $name: database $IT_DB"
}

# check <what> <command...>: passes when the command exits 0. A failure names the exit
# status, and a death by signal says so, so a check that could not run is never read as
# a plain "no".
check() {
  local what=$1 rc
  shift
  IT_CHECKS=$((IT_CHECKS + 1))
  "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "ok   $what"
  else
    IT_FAILURES=$((IT_FAILURES + 1))
    echo "FAIL $what ($(it_status "$rc"))"
  fi
}

# it_status <rc>: an exit status in words, for FAIL lines.
it_status() {
  local rc=$1
  if [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then
    echo "killed by signal $((rc - 128)) ($(kill -l "$((rc - 128))" 2>/dev/null || echo '?')), status $rc"
  elif [ "$rc" -eq 126 ] || [ "$rc" -eq 127 ]; then
    echo "could not run, status $rc"
  else
    echo "exit status $rc"
  fi
}

# expect_eq <what> <actual> <expected>
expect_eq() {
  IT_CHECKS=$((IT_CHECKS + 1))
  if [ "$2" = "$3" ]; then
    echo "ok   $1"
  else
    IT_FAILURES=$((IT_FAILURES + 1))
    echo "FAIL $1: got '$2', expected '$3'"
  fi
}

# expect_fail <what> <pattern> <command...>: passes when the command fails and its
# stderr+stdout match the extended regex pattern.
#
# The match is grep's own status on a here-string, never `echo "$out" | grep -q`: bash's
# echo writes line by line, grep -q exits at its first match, and the next write then
# kills echo with SIGPIPE, which pipefail reports as a failed pipeline. That race, hit
# about once in 2,500 runs on one busy core, is what made it_migrate fail in CI with
# output that matched (issue 23).
expect_fail() {
  local what=$1 pattern=$2 out rc grc
  shift 2
  IT_CHECKS=$((IT_CHECKS + 1))
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -eq 0 ]; then
    IT_FAILURES=$((IT_FAILURES + 1))
    echo "FAIL $what: succeeded but should have failed: ${out:0:2000}"
    return
  fi
  if [ "$rc" -gt 128 ] || [ "$rc" -eq 126 ] || [ "$rc" -eq 127 ]; then
    IT_FAILURES=$((IT_FAILURES + 1))
    echo "FAIL $what: did not fail the expected way, $(it_status "$rc"): ${out:0:2000}"
    return
  fi
  grep -Eq -- "$pattern" <<<"$out"
  grc=$?
  if [ "$grc" -eq 0 ]; then
    echo "ok   $what"
  elif [ "$grc" -eq 1 ]; then
    IT_FAILURES=$((IT_FAILURES + 1))
    echo "FAIL $what: failed ($(it_status "$rc")), but not with /$pattern/: ${out:0:2000}"
  else
    IT_FAILURES=$((IT_FAILURES + 1))
    echo "FAIL $what: could not match /$pattern/: grep $(it_status "$grc")"
  fi
}

it_done() {
  echo "== $IT_CHECKS checks, $IT_FAILURES failed"
  [ "$IT_FAILURES" -eq 0 ]
  exit $?
}

# The UTC day n days from today as YYYYMMDD, and as YYYY-MM-DD.
it_day() { date -u -d "${1} days" +%Y%m%d; }
it_date() { date -u -d "${1} days" +%F; }

# it_free_ports <n>: n loopback ports free now, on one line (the kernel picks them; all
# are held at once, so they differ).
it_free_ports() {
  python3 -c 'import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

# it_await <what> <deadline s> <command...>: runs the command until it succeeds, every
# 0.1 s; dies naming what did not happen when the deadline passes first.
it_await() {
  local what=$1 secs=$2 deadline=$((SECONDS + $2))
  shift 2
  until "$@"; do
    [ $SECONDS -ge $deadline ] && it_die "$what (not within $secs s)"
    sleep 0.1
  done
}

# it_redis_start <port>: a throwaway Redis on loopback (no persistence; pid and log in
# $IT_TMP), returning once it answers PING (deadline 10 s). Stop it with
# it_redis_stop (or by its pid file).
it_redis_start() {
  command -v redis-server >/dev/null || it_die "redis-server is not installed"
  redis-server --port "$1" --bind 127.0.0.1 --dir "$IT_TMP" --save "" --appendonly no \
    --daemonize yes --pidfile "$IT_TMP/redis.pid" --logfile "$IT_TMP/redis.log" >/dev/null ||
    it_die "redis-server did not start"
  local deadline=$((SECONDS + 10))
  until redis-cli -p "$1" ping >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || it_die "redis-server on port $1 did not answer PING in 10 s"
    sleep 0.1
  done
}
it_redis_stop() { [ -f "$IT_TMP/redis.pid" ] && kill "$(cat "$IT_TMP/redis.pid")" 2>/dev/null; }
