#!/usr/bin/env bash
# docker-compose.yml is valid (no Docker engine runs here, so this is the check CI can
# make): `docker-compose config` must parse it, resolve every anchor and variable, and
# list every service the deployment promises.
set -euo pipefail
root=${1:?usage: compose_config.sh <source root>}
cd "$root"
command -v docker-compose >/dev/null ||
  { echo "FAIL docker-compose is missing: Debian package docker-compose (scripts/deps.sh installs it)"; exit 1; }
out=$(FLEETCOST_PG_PASSWORD=ci-check docker-compose -f docker-compose.yml config)
services=$(FLEETCOST_PG_PASSWORD=ci-check docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')
expected="aggregator alerter fleet ingest-1 ingest-2 migrate postgres redis reporter "
if [ "$services" != "$expected" ]; then
  echo "services: got '$services', expected '$expected'"
  exit 1
fi
# The password reaches the services through the environment, never the file in the repo.
grep -q "postgresql://fleetcost:ci-check@postgres:5432/fleetcost" <<<"$out" || { echo "PG URL not interpolated"; exit 1; }
# Without the password the file refuses to render, rather than starting with none.
if env -u FLEETCOST_PG_PASSWORD docker-compose -f docker-compose.yml config -q 2>/dev/null; then
  echo "config rendered without FLEETCOST_PG_PASSWORD"
  exit 1
fi
echo "compose_config: ok ($services)"
