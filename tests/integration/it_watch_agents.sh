#!/usr/bin/env bash
# it_watch_agents: `fleetcost watch --once` over the Codex CLI and Gemini CLI fixture trees
# (tests/fixtures/codex, tests/fixtures/gemini) into a real fleetcost-ingest with a fresh
# database and the OpenAI and Google price rows of db/pricing/ imported. The expected
# totals are not written here: each fixture README's own jq program (the independent
# computation the README documents) is run on the same files at test time, and the stored
# usage events, summed per (day, model) and mapped back to the README's terms, must equal
# its output exactly; each priced (day, model) must cost exactly what the CSV rates give
# for those totals, and the models without a price row must be stored unpriced. Then:
# re-running and re-reading with a fresh state change nothing; Codex's torn last line is
# stored once completed (and the README program, run again, agrees); an archived copy
# of a rollout adds nothing; a legacy Gemini chat rewritten in place (stage1 -> stage2)
# counts each message once.
#   it_watch_agents.sh <fleetcost> <fleetcost-ingest> <source root>
fleetcost=${1:?usage: it_watch_agents.sh <fleetcost> <fleetcost-ingest> <source root>}
ingest=${2:?}
root=${3:?}
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
it_setup watch_agents
command -v jq >/dev/null || it_die "jq is not installed (the fixture READMEs compute with it)"
fixtures=$root/tests/fixtures

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
for p in openai google; do
  "$fleetcost" price import "$root/db/pricing/$p.csv" --effective-from 2026-03-21 \
    --pg-url "$IT_URL" >/dev/null || it_die "price import $p.csv failed"
done
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r port pub <<<"$ports"
"$ingest" --insecure --pg-url "$IT_URL" --bind "tcp://127.0.0.1:$port" \
  --pub-bind "tcp://127.0.0.1:$pub" --ingest-id it-watch-agents --metrics-port 0 \
  2>"$IT_TMP/ingest.log" &
ingest_pid=$!
trap 'kill $ingest_pid 2>/dev/null; wait $ingest_pid 2>/dev/null; it_cleanup' EXIT

cp -r "$fixtures/codex" "$IT_TMP/codex"
mkdir -p "$IT_TMP/gemini" "$IT_TMP/legacy/tmp"
cp -r "$fixtures/gemini/tmp" "$IT_TMP/gemini/"
cp -r "$fixtures/gemini/stage1/tmp/." "$IT_TMP/legacy/tmp/"

# watch <gemini dir> [extra flags]: one --once run over the Codex copy and a Gemini tree;
# its report goes to $IT_TMP/out.
watch() {
  local gem=$1
  shift
  "$fleetcost" watch --once --codex-homes "$IT_TMP/codex" --gemini-dirs "$gem" \
    --tenant acme --since 2026-01-01 --host it-host --quiet-ms 0 \
    --ingest-endpoints "tcp://127.0.0.1:$port" --spool-dir "$IT_TMP/spool" \
    --state-file "$IT_TMP/state" --timeout-ms 60000 "$@" >"$IT_TMP/out" 2>"$IT_TMP/err"
  local rc=$?
  cat "$IT_TMP/out"
  return $rc
}
field() { grep -m 1 -oE "[0-9]+ $1" "$IT_TMP/out" | cut -d' ' -f1; }

# The README's "command that computed them" (its first sh block after that heading).
readme_program() {
  awk '/^## The command that computed them/ { on = 1 } on && /^```sh/ { grab = 1; next }
       grab && /^```/ { exit } grab { print }' "$1"
}
codex_expected() { (cd "$IT_TMP/codex" && bash -c "$(readme_program "$fixtures/codex/README.md")"); }
# gemini_expected <scenario number> <dir with stage1/stage2/tmp>
gemini_expected() {
  (cd "$2" && bash -c "$(readme_program "$fixtures/gemini/README.md")") |
    awk -v want="== scenario $1" '/^== / { on = ($0 == want); next } on'
}

# Stored usage per (day, model) of one agent type, in the README's terms: Codex input
# includes cached input; Gemini input includes cached (and tool tokens are beside it),
# output excludes thoughts.
stored() {
  local type=$1 sql
  if [ "$type" = codex-cli ]; then
    sql="count(*), sum(input_tokens + cache_read_tokens), sum(cache_read_tokens),
         sum(output_tokens), sum((attrs->>'reasoning_tokens')::bigint)"
  else
    sql="count(*), sum(input_tokens + cache_read_tokens - (attrs->>'tool_tokens')::bigint),
         sum(cache_read_tokens), sum(output_tokens - (attrs->>'thoughts_tokens')::bigint),
         sum((attrs->>'thoughts_tokens')::bigint), sum((attrs->>'tool_tokens')::bigint)"
  fi
  q "$IT_URL" "SELECT to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD'), model, $sql
                 FROM events WHERE event_type = 'usage' AND agent_type = '$type'
                GROUP BY 1, 2 ORDER BY 1, 2" | tr '|' '\t'
}
# The cost each priced (day, model) must have, from the README totals and the CSV rates:
# (input - cached [+ tool]) x input + cached x cache_read + (output [+ thoughts]) x output.
expected_cost() {
  local kind=$1
  awk -F'\t' -v kind="$kind" '
    FNR == NR { if ($0 !~ /^#/ && $1 != "model") { split($0, f, ","); rin[f[1]] = f[2];
                rout[f[1]] = f[3]; rcr[f[1]] = f[4] } next }
    ($2 in rin) {
      extra_in = kind == "gemini" ? $8 : 0; extra_out = kind == "gemini" ? $7 : 0
      printf "%s\t%s\t%.0f\n", $1, $2, ($4 - $5 + extra_in) * rin[$2] + $5 * rcr[$2] + ($6 + extra_out) * rout[$2] }' \
    "$root/db/pricing/$2.csv" -
}
stored_cost() {
  q "$IT_URL" "SELECT to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD'), model, sum(cost_nusd)
                 FROM events WHERE event_type = 'usage' AND agent_type = '$1' AND NOT unpriced
                GROUP BY 1, 2 ORDER BY 1, 2" | tr '|' '\t'
}

# --- 1: both trees as they are ------------------------------------------------------------
codex_ref=$(codex_expected)
gemini_ref=$(gemini_expected 3 "$fixtures/gemini")
check "the README programs produce the documented tables" \
  test "$(wc -l <<<"$codex_ref")" -eq 5 -a "$(wc -l <<<"$gemini_ref")" -eq 5
check "first run exits 0" watch "$IT_TMP/gemini"
expect_eq "Codex: stored per (day, model) equals the README's jq totals" "$(stored codex-cli)" "$codex_ref"
expect_eq "Gemini: stored per (day, model) equals the README's jq totals" \
  "$(stored gemini-cli)" "$gemini_ref"
expect_eq "Codex: priced (day, model) cost = CSV rates x totals (cached at the cached rate)" \
  "$(stored_cost codex-cli)" "$(expected_cost codex openai <<<"$codex_ref")"
expect_eq "Gemini: priced (day, model) cost = CSV rates x totals (thoughts as output)" \
  "$(stored_cost gemini-cli)" "$(expected_cost gemini google <<<"$gemini_ref")"
expect_eq "priced (day, model) rows: 4 Codex (gpt-5-codex, gpt-5), 3 Gemini (gemini-2.5-pro)" \
  "$(stored_cost codex-cli | wc -l) $(stored_cost gemini-cli | wc -l)" "4 3"
expect_eq "models without a price row are stored unpriced, at cost 0" \
  "$(q "$IT_URL" "SELECT model, count(*), sum(cost_nusd) FROM events WHERE unpriced
                   GROUP BY 1 ORDER BY 1")" \
  "$(printf '%s\n' 'gemini-2.5-flash|1|0' 'gemini-9-ultra-exp|1|0' 'o4-mini|2|0')"
expect_eq "reader counters: 1 duplicate emission + 2 Gemini copies, 2 replayed, 2 info:null, 1 partial" \
  "$(field 'duplicate lines collapsed') $(field 'replayed turns skipped') $(field 'token counts without usage') $(field 'partial lines waiting') $(field 'counter resets')" \
  "3 2 2 1 1"
expect_eq "ingest stored every event it was sent, nothing rejected" \
  "$(grep -c 'rejected 0,' "$IT_TMP/out")" 1
expect_eq "attribution: agent = session = thread or sessionId, source, project" \
  "$(q "$IT_URL" "SELECT DISTINCT agent_type, agent_id = session_id, attrs->>'source', attrs->>'project'
                   FROM events WHERE session_id IN ('0199c1a2-2222-7a00-8000-00000000000b',
                                                    'b2c3d4e5-0000-4000-8000-000000000002')
                   ORDER BY 1")" \
  "$(printf '%s\n' 'codex-cli|t|codex-rollout|/srv/agents/acme/repo-api' 'gemini-cli|t|gemini-chat|repo-api')"
ids=$(q "$IT_URL" "SELECT md5(string_agg(event_id::text || cost_nusd, ',' ORDER BY event_id)) FROM events")

# --- 2: idempotence -------------------------------------------------------------------------
check "second run exits 0" watch "$IT_TMP/gemini"
expect_eq "re-running reads nothing new" "$(field 'requests emitted')" 0
rm -f "$IT_TMP/state"
check "a run with a fresh state re-reads everything" watch "$IT_TMP/gemini"
expect_eq "... emits every turn and message again (14 + 6)" "$(field 'requests emitted')" 20
expect_eq "... all of which ingest absorbs as duplicates" "$(grep -c 'ingest acked 0,' "$IT_TMP/out")" 1
expect_eq "the same events, ids and costs" \
  "$(q "$IT_URL" "SELECT md5(string_agg(event_id::text || cost_nusd, ',' ORDER BY event_id)) FROM events")" \
  "$ids"

# --- 3: the torn Codex line is completed; an archived copy appears ------------------------
b=$(find "$IT_TMP/codex/sessions" -name '*-00000000000b.jsonl')
printf '%s\n' ':{"total_token_usage":{"input_tokens":30000,"cached_input_tokens":18000,"output_tokens":1500,"reasoning_output_tokens":900,"total_tokens":31500},"last_token_usage":{"input_tokens":11200,"cached_input_tokens":9100,"output_tokens":300,"reasoning_output_tokens":150,"total_tokens":11500},"model_context_window":272000},"rate_limits":null}}' >>"$b"
mkdir -p "$IT_TMP/codex/archived_sessions"
cp "$IT_TMP"/codex/sessions/2026/11/27/rollout-2026-11-27T23-50-00-*.jsonl "$IT_TMP/codex/archived_sessions/"
check "third run exits 0" watch "$IT_TMP/gemini"
expect_eq "exactly the completed turn is new" "$(field 'requests emitted')" 1
expect_eq "the archived copy's 4 turns are replays" "$(field 'replayed turns skipped')" 4
expect_eq "Codex: stored totals equal the README program run on the grown tree" \
  "$(stored codex-cli)" "$(codex_expected)"

# --- 4: a legacy Gemini chat rewritten in place ---------------------------------------------
check "stage 1 run exits 0" watch "$IT_TMP/legacy"
legacy=$(find "$IT_TMP/legacy/tmp" -name 'session-*.json')
cp "$fixtures"/gemini/stage2/tmp/*/chats/*.json "$legacy.new" && mv "$legacy.new" "$legacy"
check "stage 2 run exits 0" watch "$IT_TMP/legacy"
expect_eq "the rewrite added only the new messages" "$(field 'requests emitted')" 2
expect_eq "session S1 equals the README's scenario 2 (stage1 then stage2)" \
  "$(q "$IT_URL" "SELECT to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD'), model, count(*),
                         sum(input_tokens + cache_read_tokens - (attrs->>'tool_tokens')::bigint),
                         sum(cache_read_tokens), sum(output_tokens - (attrs->>'thoughts_tokens')::bigint),
                         sum((attrs->>'thoughts_tokens')::bigint), sum((attrs->>'tool_tokens')::bigint)
                    FROM events WHERE session_id = 'a1b2c3d4-0000-4000-8000-000000000001'
                   GROUP BY 1, 2 ORDER BY 1, 2" | tr '|' '\t')" \
  "$(gemini_expected 2 "$fixtures/gemini")"

# --- 5: a mixed fleet in `fleetcost simulate` -----------------------------------------------
"$fleetcost" simulate --tenants simco --hot '' --requests 400 --rate 2000 --seed 7 \
  --ingest-endpoints "tcp://127.0.0.1:$port" --spool-dir "$IT_TMP/sim-spool" \
  >"$IT_TMP/sim.out" 2>"$IT_TMP/sim.err"
check "simulate delivered everything, nothing rejected" \
  grep -qE '^simulate: 400 requests, [0-9]+ events acked, 0 duplicate, 0 rejected, 0 left' "$IT_TMP/sim.out"
expect_eq "simulate: the three agent types, each with its own models, all priced" \
  "$(q "$IT_URL" "SELECT agent_type, string_agg(DISTINCT model_family, ' ' ORDER BY model_family),
                         bool_and(NOT unpriced AND cost_nusd > 0),
                         bool_and(cache_write_5m_tokens + cache_write_1h_tokens = 0) OR agent_type = 'claude-code'
                    FROM events WHERE tenant_id = 'simco' AND event_type = 'usage'
                   GROUP BY 1 ORDER BY 1")" \
  "$(printf '%s\n' 'claude-code|claude-haiku-4-5 claude-opus-4-6 claude-sonnet-4-5 claude-sonnet-4-6|t|t' \
       'codex-cli|gpt-5 gpt-5-codex gpt-5-mini|t|t' 'gemini-cli|gemini-2.5-pro|t|t')"
expect_fail "a bad --agent-mix is refused" "agent-mix" \
  "$fleetcost" simulate --agent-mix claude-code=0,aider=5 --requests 1
it_done
