#!/usr/bin/env bash
# it_migrate: `fleetcost migrate` on a fresh database applies every migration once and
# creates the event partitions; a second run changes nothing (same schema dump, same
# schema_migrations rows, "up to date"); concurrent runs apply each migration once; a
# changed checksum is refused.
#   it_migrate.sh <fleetcost binary> <source root>
fleetcost=${1:?usage: it_migrate.sh <fleetcost> <source root>}
src=${2:?usage: it_migrate.sh <fleetcost> <source root>}
. "$(dirname "$0")/lib.sh"
it_setup migrate
pg_dump=${FLEETCOST_PG_BIN:+$FLEETCOST_PG_BIN/}pg_dump

migrate() { "$fleetcost" migrate --pg-url "$IT_URL" "$@"; }
# Everything a migrate run could touch: the schema, the migration records, the catalog
# of partitions and the seeded prices.
snapshot() {
  # (a newer pg_dump brackets its output with \restrict <random key>: not schema)
  { "$pg_dump" --schema-only --no-owner "$IT_URL" || echo "pg_dump failed"; } |
    grep -Ev '^\\(un)?restrict '
  q "$IT_URL" "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY 1"
  q "$IT_URL" "SELECT * FROM price_versions ORDER BY version_id"
  q "$IT_URL" "SELECT relname FROM pg_class WHERE relname ~ '^events_' ORDER BY 1"
}

files=$(ls "$src"/db/migrations/*.sql | wc -l)
check "there are migration files" test "$files" -ge 2

out=$(migrate --dry-run 2>&1)
expect_eq "dry run lists every migration as pending" "$(echo "$out" | grep -c '^migrate: pending ')" "$files"
expect_eq "dry run creates nothing" \
  "$(q "$IT_URL" "SELECT count(*) FROM pg_class WHERE relname IN ('events', 'tenants', 'schema_migrations')")" 0

# --- first run
out=$(migrate 2>&1)
rc=$?
echo "$out"
expect_eq "first migrate exits 0" "$rc" 0
expect_eq "one line per applied migration" "$(echo "$out" | grep -c '^migrate: applied ')" "$files"
check "summary line says all applied" grep -q "^migrate: $files applied, 0 pending$" <<<"$out"
expect_eq "schema_migrations has a row per file" \
  "$(q "$IT_URL" "SELECT count(*) FROM schema_migrations")" "$files"
# The embedded copy is byte-exact: the recorded checksums are the files' SHA-256.
expected=$(for f in "$src"/db/migrations/*.sql; do
  printf '%s|%s\n' "$(basename "$f" .sql)" "$(sha256sum "$f" | cut -d' ' -f1)"
done)
expect_eq "recorded checksums are the files' SHA-256" \
  "$(q "$IT_URL" "SELECT name || '|' || checksum FROM schema_migrations ORDER BY version")" \
  "$expected"

for t in tenants events agents tasks task_agents agent_metrics cost_entries cost_summaries \
  cost_alerts budgets price_versions api_keys audit_log dead_letters restatements; do
  expect_eq "relation $t exists" "$(q "$IT_URL" "SELECT to_regclass('public.$t') IS NOT NULL")" t
done

expected=$(for d in $(seq -7 14); do echo "events_$(it_day "$d")"; done)
expect_eq "partitions for today-7..today+14 are attached to events" \
  "$(q "$IT_URL" "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                   WHERE i.inhparent = 'events'::regclass ORDER BY 1")" "$expected"
expect_eq "today's partition covers exactly the UTC day" \
  "$(q "$IT_URL" "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'events_$(it_day 0)'")" \
  "FOR VALUES FROM ('$(it_date 0) 00:00:00+00') TO ('$(it_date 1) 00:00:00+00')"
expect_eq "no default partition" \
  "$(q "$IT_URL" "SELECT count(*) FROM pg_partitioned_table WHERE partrelid = 'events'::regclass AND partdefid <> 0")" 0

csv_rows=$(grep -v '^#' "$src/db/pricing/anthropic.csv" | grep -vc '^model,')
expect_eq "price catalog seeded with every CSV row" \
  "$(q "$IT_URL" "SELECT count(*) FROM price_versions WHERE source = 'anthropic list prices'")" "$csv_rows"
expect_eq "sonnet-4-5 prices and long-context tier" \
  "$(q "$IT_URL" "SELECT concat_ws(',', input, output, cache_read, cache_write_5m, cache_write_1h, tier_threshold,
                                   tier_input, tier_output, tier_cache_read, tier_cache_write_5m, tier_cache_write_1h)
                   FROM price_versions WHERE model = 'claude-sonnet-4-5'")" \
  "$(grep '^claude-sonnet-4-5,' "$src/db/pricing/anthropic.csv" | cut -d, -f2-)"

expect_fail "tenant id syntax is checked" "tenants_id_syntax" q "$IT_URL" "INSERT INTO tenants (tenant_id) VALUES ('*')"
expect_fail "tenant time zone is checked" "tenants_tz_valid" \
  q "$IT_URL" "INSERT INTO tenants (tenant_id, tz) VALUES ('x', 'Mars/Olympus')"
check "a valid IANA zone is accepted" \
  q "$IT_URL" "INSERT INTO tenants (tenant_id, tz) VALUES ('tz-ok', 'America/New_York'); DELETE FROM tenants"
expect_fail "an event outside every partition is refused" "no partition" \
  q "$IT_URL" "INSERT INTO events (event_id, event_time, tenant_id, event_type, ingest_id, seq)
               VALUES (gen_random_uuid(), now() + interval '400 days', 'a', 'usage', 'i', 1)"

# --- second run changes nothing
before=$(snapshot)
out=$(migrate 2>&1)
rc=$?
expect_eq "second migrate exits 0" "$rc" 0
expect_eq "second migrate says up to date and nothing else" "$out" "migrate: up to date"
after=$(snapshot)
check "schema, migration records, prices and partitions unchanged" test "$before" = "$after"
[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | head -20

# --- partition creation is safe from two sessions at once
from=$(it_date 100)
to=$(it_date 129)
q "$IT_URL" "SELECT fc_ensure_event_partitions('$from', '$to')" >"$IT_TMP/p1" 2>&1 &
p1=$!
q "$IT_URL" "SELECT fc_ensure_event_partitions('$from', '$to')" >"$IT_TMP/p2" 2>&1 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
expect_eq "two concurrent fc_ensure_event_partitions succeed" "$r1,$r2" "0,0"
expect_eq "between them they create the 30 days once" \
  "$(($(cat "$IT_TMP/p1") + $(cat "$IT_TMP/p2")))" 30

# --- two concurrent migrates on a fresh database apply each migration once
q "$IT_URL" "DROP SCHEMA public CASCADE; CREATE SCHEMA public" >/dev/null
migrate >"$IT_TMP/m1" 2>&1 &
p1=$!
migrate >"$IT_TMP/m2" 2>&1 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
expect_eq "two concurrent migrates both succeed" "$r1,$r2" "0,0"
expect_eq "each migration applied exactly once between them" \
  "$(cat "$IT_TMP/m1" "$IT_TMP/m2" | grep -c '^migrate: applied ')" "$files"
check "the other run found it up to date" grep -q "^migrate: up to date$" "$IT_TMP/m1" "$IT_TMP/m2"

# --- a changed migration is refused, and nothing is applied or altered
q "$IT_URL" "UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = 1"
before=$(snapshot)
out=$(migrate 2>&1)
rc=$?
echo "$out"
expect_eq "changed checksum: exit status 3" "$rc" 3
check "changed checksum: the message names the migration" grep -q "0001_schema was applied with checksum" <<<"$out"
check "changed checksum: refused" grep -q "^migrate: refused" <<<"$out"
check "changed checksum: database untouched" test "$before" = "$(snapshot)"

it_done
