#!/usr/bin/env bash
# it_retention: `fleetcost retention --keep-days N --archive DIR` archives each daily
# event partition older than N days to DIR/events_YYYYMMDD.csv.gz (complete and
# loadable), drops it, records it in audit_log, and leaves newer days and the rollups
# alone; a dry run changes nothing; an existing archive is never overwritten.
#   it_retention.sh <fleetcost binary> <source root>
fleetcost=${1:?usage: it_retention.sh <fleetcost> <source root>}
. "$(dirname "$0")/lib.sh"
it_setup retention
command -v zcat >/dev/null || it_die "zcat is missing: Debian package gzip (scripts/deps.sh installs it)"

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"
retention() { "$fleetcost" retention --pg-url "$IT_URL" "$@"; }
partitions() {
  q "$IT_URL" "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'events'::regclass ORDER BY 1"
}
# rows <day offset> <n>: n usage events (tenant a) at noon UTC of that day; one has a
# comma, a quote and a newline in its body to exercise the CSV quoting.
rows() {
  q "$IT_URL" "INSERT INTO events (event_id, event_time, tenant_id, event_type, input_tokens,
                                   cost_nusd, cost_kind, body, ingest_id, seq)
               SELECT gen_random_uuid(), '$(it_date "$1") 12:00:00+00'::timestamptz + i * interval '1 second',
                      'a', 'usage', i, i * 1000, 'usage',
                      CASE WHEN i = 1 THEN jsonb_build_object('note', E'a, \"b\"\nc') END, 'it', i
                 FROM generate_series(1, $2) i" || it_die "cannot insert events for day $1"
}

# Days -40..-31 are past a 30-day retention; -30 is the oldest kept day.
q "$IT_URL" "SELECT fc_ensure_event_partitions(current_date - 40, current_date - 30)" >/dev/null
rows -40 120
rows -35 7
rows -31 1
rows -30 11
rows 0 5
q "$IT_URL" "INSERT INTO cost_summaries (tenant_id, day, dimension, cost_nusd, billed_nusd, events, final)
             SELECT 'a', current_date + d, 'total', 1000, 1000, 10, true FROM generate_series(-40, 0) d"
summaries=$(q "$IT_URL" "SELECT md5(string_agg(t::text, ',' ORDER BY day)) FROM cost_summaries t")
before=$(partitions)
archive=$IT_TMP/archive

expect_fail "keep-days below 7 is refused" "out of range" retention --keep-days 3
out=$(retention --keep-days 30 --archive "$archive" --dry-run 2>&1)
expect_eq "dry run exits 0" "$?" 0
expect_eq "dry run lists the 10 old days" "$(echo "$out" | grep -c '^retention: would drop events_')" 10
expect_eq "dry run drops nothing" "$(partitions)" "$before"
check "dry run writes no archive" test ! -e "$archive/events_$(it_day -40).csv.gz"

out=$(retention --keep-days 30 --archive "$archive" 2>&1)
rc=$?
echo "$out"
expect_eq "retention exits 0" "$rc" 0
expect_eq "the 10 old partitions are gone, the rest untouched" "$(partitions)" \
  "$(echo "$before" | awk -v lim="events_$(it_day -30)" '$0 >= lim')"
expect_eq "events of kept days remain" "$(q "$IT_URL" "SELECT count(*) FROM events")" 16
expect_eq "no events older than the limit remain" \
  "$(q "$IT_URL" "SELECT count(*) FROM events WHERE event_time < current_date - 30")" 0
expect_eq "rollups untouched" \
  "$(q "$IT_URL" "SELECT md5(string_agg(t::text, ',' ORDER BY day)) FROM cost_summaries t")" "$summaries"
for spec in -40:120 -35:7 -31:1 -39:0; do
  d=${spec%%:*}
  n=${spec##*:}
  f=$archive/events_$(it_day "$d").csv.gz
  check "archive $(basename "$f") exists" test -s "$f"
  check "archive $(basename "$f") is a valid gzip" gzip -t "$f"
  # Load it back (CSV with header, quoted fields) and count rows rather than lines.
  q "$IT_URL" - <<SQL
DROP TABLE IF EXISTS restored;
CREATE TABLE restored (LIKE events);
\copy restored FROM PROGRAM 'zcat $f' WITH (FORMAT csv, HEADER true)
SQL
  expect_eq "archive $(basename "$f") holds the day's $n rows" \
    "$(q "$IT_URL" "SELECT count(*) FROM restored")" "$n"
  if [ "$d" = -40 ]; then
    expect_eq "archived costs and tokens restore exactly" \
      "$(q "$IT_URL" "SELECT sum(cost_nusd), sum(input_tokens), count(body) FROM restored")" \
      "7260000|7260|1"
    expect_eq "the quoted body survives the round trip" \
      "$(q "$IT_URL" "SELECT body->>'note' FROM restored WHERE body IS NOT NULL")" \
      "$(printf 'a, "b"\nc')"
  fi
done
header=$(zcat "$archive/events_$(it_day -40).csv.gz" | head -n 1)
check "header line names the columns" grep -q '^event_id,event_time,tenant_id,' <<<"$header"
check "no temporary files left" test -z "$(ls -A "$archive" | grep '\.tmp$')"
expect_eq "one audit_log row per dropped partition" \
  "$(q "$IT_URL" "SELECT count(*) FROM audit_log WHERE action = 'retention.drop_partition'")" 10
expect_eq "audit row records rows and archive" \
  "$(q "$IT_URL" "SELECT after->>'rows', after->>'archive' = '$archive/events_$(it_day -40).csv.gz'
                  FROM audit_log WHERE object = 'events_$(it_day -40)'")" "120|t"

out=$(retention --keep-days 30 --archive "$archive" 2>&1)
expect_eq "second run exits 0" "$?" 0
check "second run finds nothing to drop" grep -q "^retention: nothing older than 30 days" <<<"$out"

# A day recreated after its drop (a late event) is archived beside the first archive,
# never over it.
q "$IT_URL" "SELECT fc_ensure_event_partitions(current_date - 40, current_date - 40)" >/dev/null
rows -40 3
retention --keep-days 30 --archive "$archive" >/dev/null 2>&1
expect_eq "recreated day dropped again" \
  "$(q "$IT_URL" "SELECT to_regclass('events_$(it_day -40)') IS NULL")" t
check "second archive of the day beside the first" test -s "$archive/events_$(it_day -40)-2.csv.gz"
expect_eq "first archive kept its rows" \
  "$(zcat "$archive/events_$(it_day -40).csv.gz" | grep -c ",$(it_date -40) ")" 120
expect_eq "second archive holds the late rows" \
  "$(zcat "$archive/events_$(it_day -40)-2.csv.gz" | grep -c ",$(it_date -40) ")" 3

# Without --archive the day is dropped and the audit row says so.
q "$IT_URL" "SELECT fc_ensure_event_partitions(current_date - 50, current_date - 50)" >/dev/null
rows -50 4
out=$(retention --keep-days 30 2>&1)
expect_eq "retention without archive exits 0" "$?" 0
expect_eq "day dropped without archive, audited" \
  "$(q "$IT_URL" "SELECT after->>'rows', after->'archive' = 'null'::jsonb FROM audit_log
                  WHERE object = 'events_$(it_day -50)'")" "4|t"
expect_eq "rollups still untouched" \
  "$(q "$IT_URL" "SELECT md5(string_agg(t::text, ',' ORDER BY day)) FROM cost_summaries t")" "$summaries"

it_done
