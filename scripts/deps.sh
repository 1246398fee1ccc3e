#!/usr/bin/env bash
# Installs the Debian 12 packages fleetcost builds, tests and runs with, when missing.
# Idempotent: does nothing (and no apt-get update) when everything is present.
# Every tool a script or test calls is here; a test whose tool is missing fails naming
# the package from this list, it never skips. Where each is used:
#   docker-compose (Debian's 1.29) tests/compose_config.sh; chromium it_reporter's
#   screenshot; python3-aiosmtpd it_alerter's SMTP sink; jq, curl, openssl, bc, zstd,
#   gzip (zcat) the shell tests; iproute2 (ip netns, ss) it_multihost and stack.sh's
#   port-owner check; util-linux (runuser, flock); git tests/e2e/newcomer.sh;
#   sqlite3 scripts/bench.sh.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
  libczmq-dev libzmq3-dev libpq-dev libmsgpack-dev libhiredis-dev libcurl4-openssl-dev
  libmicrohttpd-dev zlib1g-dev libssl-dev openssl
  postgresql postgresql-client redis-server redis-tools
  python3 python3-aiosmtpd jq curl zstd gzip procps iproute2 util-linux bc git sqlite3 tzdata gdb
  chromium docker-compose
)

missing=()
for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Another apt run (a second clone's deps.sh, say) holds the dpkg lock: wait for it
# rather than fail.
lock=(-o DPkg::Lock::Timeout=600)
apt-get "${lock[@]}" update -qq
apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
