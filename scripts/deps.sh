#!/usr/bin/env bash
# Installs the Debian 12 packages fleetcost builds, tests and runs with, when missing.
# Idempotent: does nothing (and no apt-get update) when everything is present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
  libczmq-dev libzmq3-dev libpq-dev libmsgpack-dev libhiredis-dev libcurl4-openssl-dev
  libmicrohttpd-dev zlib1g-dev libssl-dev openssl
  postgresql postgresql-client redis-server redis-tools
  python3 python3-aiosmtpd jq curl zstd procps iproute2 util-linux bc
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
