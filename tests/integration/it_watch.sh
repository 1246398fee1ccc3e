#!/usr/bin/env bash
# it_watch: `fleetcost watch --once` against generated Claude Code transcript trees and
# a real fleetcost-ingest with a fresh database. The trees (it_watch_gen.py) hold
# streamed multi-line responses, subagent files, a user line, a garbage line, a
# <synthetic> line, an old session before --since, a file cut after the first line of a
# response and in the middle of a line, the fixture session-sample.jsonl; then the cut
# file grows, one file is rotated (new inode, old lines again plus new ones), one is
# deleted and a new one appears in a new directory. After each run, per tenant and
# session, the stored usage events (count, every token kind, sidechain) must equal the
# reference the generator computes on its own; re-running, and re-reading everything
# with a fresh state file, must change nothing.
#   it_watch.sh <fleetcost> <fleetcost-ingest> <source root>
fleetcost=${1:?usage: it_watch.sh <fleetcost> <fleetcost-ingest> <source root>}
ingest=${2:?}
root=${3:?}
. "$(dirname "$0")/lib.sh"
it_setup watch
gen="python3 $root/tests/integration/it_watch_gen.py"

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r port pub <<<"$ports"
"$ingest" --insecure --pg-url "$IT_URL" --bind "tcp://127.0.0.1:$port" \
  --pub-bind "tcp://127.0.0.1:$pub" --ingest-id it-watch --metrics-port 0 ${IT_INGEST_FLAGS:-} \
  2>"$IT_TMP/ingest.log" &
ingest_pid=$!
trap 'kill $ingest_pid 2>/dev/null; wait $ingest_pid 2>/dev/null; [ -n "${IT_KEEP_TMP:-}" ] && cp -r "$IT_TMP" /tmp/it_watch_keep; it_cleanup' EXIT

tree=$IT_TMP/tree
mkdir -p "$tree"
cat >"$IT_TMP/map" <<'EOF'
# cwd or path -> tenant, agent type
/srv/agents/acme/* acme worker
*/c2/projects/-srv-beta-* beta
EOF
# watch <quiet ms> [extra flags]: one --once run; its report goes to $IT_TMP/out.
watch() {
  local quiet=$1
  shift
  "$fleetcost" watch --once --dir "$tree/c1" --dir "$tree/c2" --map "$IT_TMP/map" \
    --since 2026-01-01 --host it-host --quiet-ms "$quiet" \
    --ingest-endpoints "tcp://127.0.0.1:$port" --spool-dir "$IT_TMP/spool" \
    --state-file "$IT_TMP/state" --timeout-ms ${IT_WATCH_TIMEOUT_MS:-60000} "$@" >"$IT_TMP/out" 2>"$IT_TMP/err"
  local rc=$?
  cat "$IT_TMP/out"
  return $rc
}
stored() {
  q "$IT_URL" "SELECT tenant_id, session_id, count(*), sum(input_tokens), sum(output_tokens),
                      sum(cache_read_tokens), sum(cache_write_5m_tokens),
                      sum(cache_write_1h_tokens), count(*) FILTER (WHERE attrs->>'sidechain' = 'true')
                 FROM events WHERE event_type = 'usage' GROUP BY 1, 2 ORDER BY 1, 2"
}
field() { grep -m 1 -oE "[0-9]+ $1" "$IT_TMP/out" | cut -d' ' -f1; }

# --- phase 1: history exists; one response is still being written ------------------
$gen phase1 "$tree" || it_die "generator failed"
check "first run exits 0" watch 600000
expect_eq "phase 1: stored usage equals the reference (pending response held back)" \
  "$(stored)" "$($gen reference "$tree" 1 2026-01-01)"
expect_eq "the response cut mid-stream is not stored yet" \
  "$(q "$IT_URL" "SELECT count(*) FROM events WHERE request_id = 'req_s3_006'")" 0
expect_eq "the garbage line is counted as unparseable, the partial line is not" \
  "$(field 'unparseable lines')" 1
expect_eq "the two <synthetic> lines are skipped" "$(field 'synthetic skipped')" 2
expect_eq "the session before --since is skipped" "$(field 'before --since')" 4
check "streamed lines were collapsed" test "$(field 'duplicate lines collapsed')" -gt 10
expect_eq "ingest stored every event it was sent, nothing rejected" \
  "$(grep -c 'rejected 0,' "$IT_TMP/out")" 1
expect_eq "attribution: agent = session, type from the map, host, project" \
  "$(q "$IT_URL" "SELECT DISTINCT agent_id = session_id, agent_type, attrs->>'project'
                   FROM events WHERE tenant_id = 'acme' AND session_id = 'sess-1'")" \
  "t|worker|/srv/agents/acme/api"
expect_eq "event time is the first line's timestamp; the model as written" \
  "$(q "$IT_URL" "SELECT event_time AT TIME ZONE 'UTC', model, output_tokens, cache_write_1h_tokens
                   FROM events WHERE request_id = 'req_011CAbCdEfGhIjKlMnOpQr'")" \
  "2026-11-27 09:00:03.12|claude-sonnet-4-5-20250929|742|12000"
check "state file written" test -s "$IT_TMP/state"

# --- phase 2: the cut file grows, one file rotates, one is deleted, one appears ----------
$gen phase2 "$tree" || it_die "generator failed"
check "second run exits 0" watch 0
reference=$($gen reference "$tree" 2 2026-01-01)
expect_eq "phase 2: stored usage equals the reference" "$(stored)" "$reference"
expect_eq "the cut response is stored once, with its largest line" \
  "$(q "$IT_URL" "SELECT count(*) FROM events WHERE request_id = 'req_s3_006'")" 1
expect_eq "the rotated file was read again from the start" "$(field 'files restarted')" 1
check "the restart resumed mid-file: the old lines were not read again" \
  test "$(field 'unparseable lines')" -eq 0
ids=$(q "$IT_URL" "SELECT md5(string_agg(event_id::text || cost_nusd, ',' ORDER BY event_id)) FROM events")

# --- phase 3: idempotence -----------------------------------------------------------------
check "third run exits 0" watch 0
expect_eq "re-running reads nothing new" "$(field 'requests emitted')" 0
rm -f "$IT_TMP/state"
check "a run with a fresh state re-reads everything" watch 0
check "... and emits every request again" test "$(field 'requests emitted')" -gt 50
expect_eq "... all of which ingest absorbs as duplicates" "$(grep -c 'ingest acked 0,' "$IT_TMP/out")" 1
expect_eq "stored usage still equals the reference" "$(stored)" "$reference"
expect_eq "the same events, ids and costs" \
  "$(q "$IT_URL" "SELECT md5(string_agg(event_id::text || cost_nusd, ',' ORDER BY event_id)) FROM events")" \
  "$ids"

# --- bad arguments ---------------------------------------------------------------------------
expect_fail "no tenant and no map is refused" "give --tenant or --map" \
  "$fleetcost" watch --once --dir "$tree/c1"
echo "/x Bad-Tenant" >"$IT_TMP/badmap"
expect_fail "a map with an invalid tenant is refused" "badmap:1" \
  "$fleetcost" watch --once --dir "$tree/c1" --map "$IT_TMP/badmap"
it_done
