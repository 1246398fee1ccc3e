#!/usr/bin/env bash
# Installs what is missing, builds, brings up the local stack (PostgreSQL + Redis),
# runs the whole ctest suite (unit, integration, fuzz), prints its summary, and stops
# what it started. Exits non-zero on any failure.
#   scripts/test.sh [ctest arguments, e.g. -L unit or -R ingest]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state=${FLEETCOST_STATE:-$root/.fleetcost}

./scripts/deps.sh
./scripts/build.sh

# Stop at the end only what this run started (a developer's running stack stays up).
started=0
status=$(./scripts/stack.sh status)
case "$status" in
  *"postgres: running"*"redis: running"*) ;;
  *) started=1 ;;
esac
./scripts/stack.sh up
cleanup() { [ "$started" -eq 1 ] && ./scripts/stack.sh down || true; }
trap cleanup EXIT
# shellcheck disable=SC1091
. "$state/env"

# Label perf (a year of data for 100 tenants) belongs to scripts/bench.sh; without
# arguments everything else runs.
[ $# -eq 0 ] && set -- -LE perf
set +e
ctest --test-dir "${FLEETCOST_BUILD:-$root/build}" --output-on-failure --timeout 900 -j2 "$@" \
  2>&1 | tee "$state/ctest.log"
rc=${PIPESTATUS[0]}
set -e
echo
echo "ctest summary:"
grep -E "tests passed|tests failed|Total Test time" "$state/ctest.log" || true
exit "$rc"
