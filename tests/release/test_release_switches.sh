#!/usr/bin/env bash
# test_release_switches: the switches only tests use exist only in a testing build
# (FC_TESTING), and the load generators are not a fleetcost command (issue 16).
#   test_release_switches.sh <source root> <release aggregator> <testing aggregator>
#     <release alerter> <testing alerter> <fleetcost> <fleetcost-bench>
#     <release reporter> <testing reporter> <release fleetcost>
# The release binaries are the mains compiled without FC_TESTING (tests/release/
# CMakeLists.txt). No service starts: flags are parsed, and refused, before any I/O.
root=$1 rel_agg=$2 test_agg=$3 rel_alert=$4 test_alert=$5 fleetcost=$6 bench=$7
rel_rep=$8 test_rep=$9 rel_fc=${10}
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"

# has <what> <pattern> <command...>: the command succeeds and its output matches.
has() {
  local what=$1 pattern=$2 out rc
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  check "$what" bash -c '[ "$1" -eq 0 ] && grep -Eq -- "$2" <<<"$3"' _ "$rc" "$pattern" "$out"
}
# lacks <what> <pattern> <command...>: the command succeeds and its output does not match.
lacks() {
  local what=$1 pattern=$2 out rc
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  check "$what" bash -c '[ "$1" -eq 0 ] && ! grep -Eq -- "$2" <<<"$3"' _ "$rc" "$pattern" "$out"
}

# Each service is also given a bad value its s_run refuses before connecting anywhere
# (--shard, --silence): a binary that took the switch fails on that instead, at once,
# rather than starting a service. The testing binaries show it: same arguments, the
# switch accepted, the bad value refused.
# The aggregator's --debug-drop.
expect_fail "release aggregator refuses --debug-drop" "unknown option --debug-drop" \
  "$rel_agg" --insecure --debug-drop 7 --shard bad
expect_fail "testing aggregator takes --debug-drop" "--shard must be" \
  "$test_agg" --insecure --debug-drop 7 --shard bad
lacks "release aggregator --help has no --debug-drop" "debug-drop" "$rel_agg" --help
has "release aggregator --help lists its real options" "--metrics-port" "$rel_agg" --help
has "testing aggregator --help lists --debug-drop" "--debug-drop" "$test_agg" --help

# The alerter's --clock.
expect_fail "release alerter refuses --clock" "unknown option --clock" \
  "$rel_alert" --insecure --clock 2026-01-01T00:00:00Z --silence bad
expect_fail "testing alerter takes --clock" "--silence and --activity-window" \
  "$test_alert" --insecure --clock 2026-01-01T00:00:00Z --silence bad
lacks "release alerter --help has no --clock" "--clock" "$rel_alert" --help
has "release alerter --help lists its real options" "--max-attempts" "$rel_alert" --help
has "testing alerter --help lists --clock" "--clock" "$test_alert" --help

# The reporter's --clock (each tenant's own today, issue 21): the testing reporter
# refuses a bad clock in s_run before it opens anything.
expect_fail "release reporter refuses --clock" "unknown option --clock" \
  "$rel_rep" --insecure --clock 2026-01-01T00:00:00Z
expect_fail "testing reporter takes --clock" "--clock: expected an RFC 3339 time" \
  "$test_rep" --insecure --clock bad
lacks "release reporter --help has no --clock" "--clock" "$rel_rep" --help
has "release reporter --help lists its real options" "--max-streams" "$rel_rep" --help
has "testing reporter --help lists --clock" "--clock" "$test_rep" --help

# fleetcost report --clock: refused in a release build; a testing build takes it and
# then refuses the bad --format, before connecting anywhere.
expect_fail "release fleetcost report refuses --clock" "unknown option --clock" \
  "$rel_fc" report --all --clock 2026-01-01T00:00:00Z --format bad
expect_fail "testing fleetcost report takes --clock" "--format: expected" \
  "$fleetcost" report --all --clock 2026-01-01T00:00:00Z --format bad
lacks "release fleetcost report --help has no --clock" "--clock" "$rel_fc" report --help
has "release fleetcost report --help lists its real options" "--period" "$rel_fc" report --help
has "testing fleetcost report --help lists --clock" "--clock" "$fleetcost" report --help

# The load generators: fleetcost-bench, not `fleetcost bench`.
expect_fail "fleetcost bench is not a command" "unknown command 'bench'" \
  "$fleetcost" bench ingest --events 1
lacks "fleetcost --help does not list bench" "^  bench " "$fleetcost" --help
has "fleetcost --help lists emit" "^  emit " "$fleetcost" --help
has "fleetcost-bench --help lists its options" "--events" "$bench" --help
expect_fail "fleetcost-bench asks what to bench" "say what to bench" "$bench"
it_done
