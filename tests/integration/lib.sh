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
  q "$FLEETCOST_PG_ADMIN_URL" "DROP DATABASE IF EXISTS $IT_DB WITH (FORCE)" >/dev/null ||
    it_die "cannot drop an old $IT_DB"
  q "$FLEETCOST_PG_ADMIN_URL" "CREATE DATABASE $IT_DB OWNER \"$owner\"" ||
    it_die "cannot create $IT_DB"
  IT_URL=$(it_url_db "$FLEETCOST_PG_URL" "$IT_DB")
  IT_ADMIN_URL=$(it_url_db "$FLEETCOST_PG_ADMIN_URL" "$IT_DB")
  IT_READER_URL=$(it_url_db "$FLEETCOST_PG_READER_URL" "$IT_DB")
  echo "== $name: database $IT_DB"
}

# check <what> <command...>: passes when the command exits 0.
check() {
  local what=$1
  shift
  IT_CHECKS=$((IT_CHECKS + 1))
  if "$@"; then
    echo "ok   $what"
  else
    IT_FAILURES=$((IT_FAILURES + 1))
    echo "FAIL $what"
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
expect_fail() {
  local what=$1 pattern=$2 out
  shift 2
  IT_CHECKS=$((IT_CHECKS + 1))
  if out=$("$@" 2>&1); then
    IT_FAILURES=$((IT_FAILURES + 1))
    echo "FAIL $what: succeeded but should have failed"
  elif ! echo "$out" | grep -Eq -- "$pattern"; then
    IT_FAILURES=$((IT_FAILURES + 1))
    echo "FAIL $what: failed, but not with /$pattern/: $out"
  else
    echo "ok   $what"
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
