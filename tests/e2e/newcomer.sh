#!/usr/bin/env bash
# newcomer: the README's path, from a clone where a new user puts one. Clones this
# checkout's HEAD (committed work only) into a mode-0700 directory, under a path with a
# space -- what a clone under /root is to the postgres user, and worse -- then, from the
# clone, with the README's own commands:
#   scripts/stack.sh up / status / down (the cluster must land where postgres reaches it,
#   and down/status must find it again), and ./scripts/test.sh -L unit (deps, a build of
#   the clone, the stack, the unit label, the stack stopped again).
# It uses free ports and the clone's own state, so a stack already running (the suite's,
# a developer's) is untouched; it removes the clone and its cluster at the end.
# .ci/run runs it after the suite when CI=true.
#   tests/e2e/newcomer.sh [source checkout, default: this one]
# shellcheck disable=SC1091
. "$(dirname "$0")/../integration/lib.sh"
src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
for tool in git:git python3:python3 psql:postgresql-client; do
  command -v "${tool%%:*}" >/dev/null ||
    it_die "${tool%%:*} is missing: Debian package ${tool#*:} (scripts/deps.sh installs it)"
done
# Nothing of a sourced stack env may point the clone at another stack or build.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^FLEETCOST_')

IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fc_newcomer.XXXXXX")
chmod 700 "$IT_TMP"
clone="$IT_TMP/new user/fleetcost"
read -r pg_port redis_port < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
export FLEETCOST_PG_PORT=$pg_port FLEETCOST_REDIS_PORT=$redis_port
finish() {
  [ -x "$clone/scripts/stack.sh" ] && "$clone/scripts/stack.sh" purge >/dev/null 2>&1
  rm -rf "$IT_TMP"
}
trap finish EXIT
stack() { (cd "$clone" && ./scripts/stack.sh "$@"); }

head=$(git -C "$src" rev-parse HEAD) || it_die "$src is not a git checkout"
mkdir -p "$(dirname "$clone")"
git clone -q --no-hardlinks "$src" "$clone" && git -C "$clone" checkout -q --detach "$head" ||
  it_die "cannot clone $src"
echo "== newcomer: clone of $head in '$clone' (parent mode $(stat -c %a "$IT_TMP")), ports $pg_port/$redis_port"

t0=$SECONDS
out=$(stack up 2>&1)
check "stack.sh up from the clone" test $? -eq 0
echo "$out"
out=$(stack status)
check "status finds PostgreSQL" grep -q "^postgres: running on 127.0.0.1:$pg_port" <<<"$out"
check "status finds Redis" grep -q "^redis: running on 127.0.0.1:$redis_port" <<<"$out"
pg_dir=$(cat "$clone/.fleetcost/pg.dir" 2>/dev/null)
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
check "the cluster is outside the unreachable clone, where postgres can reach it" \
  bash -c '[[ "$0" == /var/tmp/fleetcost-pg-* ]] && "${@}" test -r "$0/postgres.log"' "$pg_dir" "${as_pg[@]}"
check "its log is linked from the clone's state" test -r "$clone/.fleetcost/postgres.log"
pg_url=$(. "$clone/.fleetcost/env" && echo "$FLEETCOST_PG_URL")
expect_eq "the env's URL reaches the clone's database" \
  "$(psql -X -At "$pg_url" -c 'SELECT current_database()' 2>&1)" fleetcost
expect_eq "the env's Redis answers" "$(redis-cli -p "$redis_port" ping 2>&1)" PONG
stack down >/dev/null
out=$(stack status)
check "down stops both" bash -c 'grep -q "^postgres: stopped" <<<"$0" && grep -q "^redis: stopped" <<<"$0"' "$out"
echo "== stack up/status/down: $((SECONDS - t0)) s"

# The README's second command, as it is, from the clone.
t0=$SECONDS
(cd "$clone" && ./scripts/test.sh -L unit) >"$IT_TMP/test.out" 2>&1
rc=$?
expect_eq "./scripts/test.sh -L unit from the clone" "$rc" 0
check "... ran the unit label, all passed" grep -Eq '^100% tests passed, 0 tests failed out of [1-9]' "$IT_TMP/test.out"
check "... and stopped the stack it started" bash -c 'grep -q "^postgres: stopped" <<<"$0"' "$(stack status)"
echo "== test.sh -L unit (build included): $((SECONDS - t0)) s"
[ "$rc" -eq 0 ] || tail -n 40 "$IT_TMP/test.out"
it_done
