#!/usr/bin/env bash
# Configures and builds fleetcost into ./build (clang with the fuzz targets when clang
# is there, else the default compiler). Extra arguments go to the first cmake call.
# ./build is a testing build (FC_TESTING=ON: the test-only switches and fleetcost-bench,
# which the suite and bench.sh use); release builds leave it off (README "Testing builds").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FLEETCOST_BUILD:-$root/build}
if [ ! -f "$build/CMakeCache.txt" ]; then
  args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFC_TESTING=ON)
  if command -v clang >/dev/null; then
    args+=(-DCMAKE_C_COMPILER=clang -DFC_FUZZ=ON)
  fi
  cmake -S "$root" -B "$build" "${args[@]}" "$@" >/dev/null
elif ! grep -q '^FC_TESTING:BOOL=ON$' "$build/CMakeCache.txt"; then
  # a build directory configured before FC_TESTING existed (or without it)
  cmake -S "$root" -B "$build" -DFC_TESTING=ON >/dev/null
fi
cmake --build "$build" -j"$(nproc)"
