#!/usr/bin/env bash
# Configures and builds fleetcost into ./build (clang with the fuzz targets when clang
# is there, else the default compiler). Extra arguments go to the first cmake call.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FLEETCOST_BUILD:-$root/build}
if [ ! -f "$build/CMakeCache.txt" ]; then
  args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  if command -v clang >/dev/null; then
    args+=(-DCMAKE_C_COMPILER=clang -DFC_FUZZ=ON)
  fi
  cmake -S "$root" -B "$build" "${args[@]}" "$@" >/dev/null
fi
cmake --build "$build" -j"$(nproc)"
