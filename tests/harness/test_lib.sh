#!/usr/bin/env bash
# Self-test of tests/integration/lib.sh: its checks must report what happened, never a
# race of their own. Runs each helper in a subshell and asserts on the line it printed.
set -u
lib=$(cd "$(dirname "$0")/../integration" && pwd)/lib.sh
failures=0
checks=0

# line_of <lib call...>: the ok/FAIL line the helper prints, from a fresh subshell.
line_of() { (. "$lib" && "$@") 2>&1 | grep -E '^(ok|FAIL) ' || true; }
want() {
  local what=$1 line=$2 pattern=$3
  checks=$((checks + 1))
  if grep -Eq -- "$pattern" <<<"$line"; then
    echo "ok   $what"
  else
    failures=$((failures + 1))
    echo "FAIL $what: got '$line', wanted /$pattern/"
  fi
}

# A failing command whose first line matches and whose output goes on for 2 MB: a
# `echo "$out" | grep -q` pipeline under pipefail loses this every time (echo dies of
# SIGPIPE once grep has matched and exited); the here-string match must not.
big_failure() {
  echo 'ERROR:  no partition of relation "events" found for row'
  yes 'DETAIL:  filler line that keeps the writer writing after the match' | head -c 2000000
  return 1
}
die_by_signal() { sh -c 'kill -TERM $$'; }
fail_quietly() { echo "something else"; return 3; }

for i in 1 2 3; do
  want "expect_fail matches a long output, run $i" "$(line_of expect_fail long 'no partition' big_failure)" '^ok   long$'
done
want "expect_fail says when the command succeeded" "$(line_of expect_fail s 'x' true)" \
  '^FAIL s: succeeded but should have failed'
want "expect_fail names a death by signal" "$(line_of expect_fail sig 'x' die_by_signal)" \
  '^FAIL sig: did not fail the expected way, killed by signal 15 \(TERM\)'
want "expect_fail names a command that could not run" \
  "$(line_of expect_fail nr 'x' /nonexistent/tool)" '^FAIL nr: did not fail the expected way, could not run, status 127'
want "expect_fail reports a real mismatch with the status" \
  "$(line_of expect_fail mm 'no partition' fail_quietly)" \
  '^FAIL mm: failed \(exit status 3\), but not with /no partition/: something else'
want "check reports the exit status" "$(line_of check c fail_quietly)" '^FAIL c \(exit status 3\)$'
want "check reports a signal" "$(line_of check c die_by_signal)" '^FAIL c \(killed by signal 15'
want "check passes on success" "$(line_of check c true)" '^ok   c$'

echo "== $checks checks, $failures failed"
[ "$failures" -eq 0 ]
