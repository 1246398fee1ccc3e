#!/usr/bin/env bash
# The whole pipeline on this machine. For now: installs, builds, starts the local
# stack and migrates the database; later issues add the services and simulated fleet.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
./scripts/deps.sh
./scripts/build.sh
./scripts/stack.sh up
# shellcheck disable=SC1091
. "$root/.fleetcost/env"
./build/cli/fleetcost migrate
echo
echo "demo: PostgreSQL at $FLEETCOST_PG_URL"
echo "demo: Redis at $FLEETCOST_REDIS_URL"
echo "demo: try: . .fleetcost/env && psql \"\$FLEETCOST_PG_URL\" -c '\\dt'"
echo "demo: stop the stack with ./scripts/stack.sh down"
