#!/usr/bin/env bash
# test_client_deps: an agent host needs no server stack (issue 16). ldd on agent_probe,
# a real program built on libfleetcost alone (linked --no-as-needed, so every library of
# libfleetcost's link interface is listed), must show ZeroMQ and none of libpq, libcurl,
# hiredis or libmicrohttpd; and the probe must work as an agent (spool one event).
#   test_client_deps.sh <agent_probe> <source root>
probe=$1
root=$2
# shellcheck source=../../tests/integration/lib.sh
. "$root/tests/integration/lib.sh"

command -v ldd >/dev/null || it_die "ldd is not installed"
deps=$(ldd "$probe" 2>&1)
check "ldd reads agent_probe" [ $? -eq 0 ]
echo "$deps"
# The positive check shows ldd resolved the libraries, so the absences below mean something.
check "agent_probe links libzmq" grep -Eq -- '^\s*libzmq\.so' <<<"$deps"
check "agent_probe links libczmq" grep -Eq -- '^\s*libczmq\.so' <<<"$deps"
for lib in libpq libcurl libhiredis libmicrohttpd; do
  check "agent_probe does not link $lib" bash -c '! grep -Eq -- "^\s*$1[.-]" <<<"$2"' _ "$lib" "$deps"
done

spool=$(mktemp -d /tmp/fc-agent-probe-XXXXXX)
trap 'rm -rf "$spool"' EXIT
check "agent_probe spools an event with no ingest" "$probe" "$spool/spool"
it_done
