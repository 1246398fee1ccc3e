#!/usr/bin/env bash
# test_cli_links: the fleetcost command links the shared engines in lib/ and no
# service's own library (issue 16). A static library contributes only the objects a
# program uses, so the check is on the program's symbols: no global function or object
# defined by a service library (libaggregator, libalerter, libfc_reporter, libingest,
# libotlp) may be defined in fleetcost. Before lib/report, lib/budget and lib/rollup,
# `price reprice` pulled aggregator_pg.o out of libaggregator and this failed.
#   test_cli_links.sh <source root> <fleetcost> <service library>...
root=$1 fleetcost=$2
shift 2
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"

command -v nm >/dev/null || { echo "FAIL nm is missing (package binutils)"; exit 1; }

# Global symbols (functions T, data D/B/R) each library defines.
lib_syms=$(nm --defined-only -g "$@" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TDBR]$/ { print $3 }' | sort -u)
cli_syms=$(nm --defined-only -g "$fleetcost" | awk 'NF == 3 && $2 ~ /^[TDBR]$/ { print $3 }' | sort -u)
check "the service libraries define symbols (the check has something to compare)" \
    test "$(wc -l <<<"$lib_syms")" -gt 20
shared=$(comm -12 <(echo "$lib_syms") <(echo "$cli_syms"))
[ -z "$shared" ] || echo "defined in both fleetcost and a service library: $(head -5 <<<"$shared" | tr '\n' ' ')"
check "fleetcost defines no symbol of a service library" test -z "$shared"
check "fleetcost has the report engine (lib/report)" grep -qx reporter_report_gather <<<"$cli_syms"
check "fleetcost has the rollup SQL (lib/rollup)" grep -qx aggregator_pg_tenants <<<"$cli_syms"
it_done
