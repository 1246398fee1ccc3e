#!/usr/bin/env bash
# code_size.sh [root]: the size of the C code under lib/ services/ cli/ client/ proto/:
# the line count (wc -l) of every *.c and *.h, then of those outside tests/, fuzz/ and
# test_*, and the ten longest functions, measured by Universal Ctags (apt:
# universal-ctags) from each function's first to its last line. For README "One home
# for each thing" and issue 16.
set -euo pipefail
root=${1:-.}
cd "$root"
command -v ctags >/dev/null || { echo "code_size: ctags (universal-ctags) is missing" >&2; exit 1; }
mapfile -t files < <(find lib services cli client proto -name '*.[ch]' | sort)
echo "lines: $(cat "${files[@]}" | wc -l) in ${#files[@]} files"
echo "  of which not tests: $(printf '%s\n' "${files[@]}" | grep -Ev '(^|/)(tests|fuzz)/|(^|/)test_' |
  xargs cat | wc -l)"
echo "longest functions (lines, function, file:line):"
ctags -x --_xformat='%N %F %n %{end}' --kinds-C=f --fields=+ne -o - "${files[@]}" |
  awk '$4 != "" { print $4 - $3 + 1, $1, $2 ":" $3 }' | sort -k1,1nr -k2 | head -10
