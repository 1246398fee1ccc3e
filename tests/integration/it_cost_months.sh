#!/usr/bin/env bash
# it_cost_months: the monthly rollups (migration 0007) and the reporter's use of them.
#  1. cost_months, kept by statement triggers on cost_summaries, equals the monthly sums
#     recomputed from the final daily rows after inserts, upserts, updates that finalise,
#     un-finalise, reprice and move rows, deletes, and a truncate.
#  2. Through the HTTP API, costs by tenant, task and agent type over many ranges (whole
#     months, month edges where the month row minus a few days is used, several months,
#     single days, the full span) equal direct sums of the final daily rows; again after
#     rows change under them; and a tenant key sees only its own months (row-level
#     security on cost_months).
#  3. The dashboard's 30-day total counts today's in-day rollup (dashboards read in-day
#     rollups; reports do not).
#   it_cost_months.sh <fleetcost> <fleetcost-reporter>
fleetcost=${1:?usage: it_cost_months.sh <fleetcost> <fleetcost-reporter>}
reporter=${2:?}
. "$(dirname "$0")/lib.sh"
it_setup cost_months

"$fleetcost" migrate --pg-url "$IT_URL" >/dev/null || it_die "migrate failed"

# Rows of cost_months that differ from the final daily rows' monthly sums (0 when right).
months_diff() {
  q "$IT_URL" "
    WITH want AS (
      SELECT tenant_id, date_trunc('month', day)::date AS month, dimension, key,
             sum(cost_nusd) AS c, sum(input_tokens) AS i, sum(output_tokens) AS o,
             sum(cache_read_tokens) AS cr, sum(events) AS n,
             bit_or(CASE WHEN dimension = 'total' AND key = ''
                         THEN 1::bigint << (extract(day FROM day)::int - 1) ELSE 0 END) AS days
        FROM cost_summaries WHERE final GROUP BY 1, 2, 3, 4),
    have AS (
      SELECT tenant_id, month, dimension, key, cost_nusd AS c, input_tokens AS i,
             output_tokens AS o, cache_read_tokens AS cr, events AS n, days
        FROM cost_months
       WHERE cost_nusd <> 0 OR input_tokens <> 0 OR output_tokens <> 0 OR cache_read_tokens <> 0
          OR events <> 0 OR days <> 0)
    SELECT count(*) FROM ((SELECT * FROM want EXCEPT SELECT * FROM have)
                          UNION ALL (SELECT * FROM have EXCEPT SELECT * FROM want)) d"
}

# 1. The triggers.
q "$IT_URL" - >/dev/null <<'SQL' || it_die "seeding failed"
INSERT INTO tenants (tenant_id, tz) VALUES ('t0', 'UTC'), ('t1', 'Asia/Tokyo'), ('t2', 'America/New_York');
-- Four months of days; t2 misses every fifth day; costs differ per tenant, day and key.
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, input_tokens,
                            output_tokens, cache_read_tokens, events, final)
SELECT t.tenant_id, d::date, v.dim, v.key,
       (abs(hashtext(t.tenant_id || d::text || v.key)) % 1000000007) + 1,
       abs(hashtext(v.key || d::text)) % 100000, abs(hashtext(d::text || v.key)) % 7000,
       abs(hashtext(t.tenant_id || v.key)) % 50000, 1 + abs(hashtext(d::text)) % 90, true
  FROM tenants t, generate_series(date '2026-06-01', date '2026-09-30', interval '1 day') d,
       (SELECT 'total' AS dim, '' AS key
        UNION ALL SELECT 'agent_type', 'type-' || i FROM generate_series(0, 2) i
        UNION ALL SELECT 'task', 'task-' || i FROM generate_series(0, 5) i) v
 WHERE NOT (t.tenant_id = 't2' AND extract(doy FROM d)::int % 5 = 0);
SQL
expect_eq "cost_months after the first insert" "$(months_diff)" 0
q "$IT_URL" - >/dev/null <<'SQL' || it_die "changes failed"
-- a day per task key that is only there some days (upsert: insert and update at once)
INSERT INTO cost_summaries AS c (tenant_id, day, dimension, key, cost_nusd, events, final)
SELECT 't1', d::date, 'task', 'late-' || extract(day FROM d)::int % 3, 777, 3, true
  FROM generate_series(date '2026-07-10', date '2026-07-20', interval '1 day') d
ON CONFLICT (tenant_id, day, dimension, key)
DO UPDATE SET cost_nusd = c.cost_nusd + 1, events = c.events + 1;
-- not final any more (an aggregator would not do this; a restore or an operator might)
UPDATE cost_summaries SET final = false WHERE tenant_id = 't0' AND day BETWEEN '2026-08-14' AND '2026-08-16';
-- repriced in place
UPDATE cost_summaries SET cost_nusd = cost_nusd * 3 + 11 WHERE day BETWEEN '2026-06-28' AND '2026-07-03';
-- a day dropped, a tenant renamed for a week
DELETE FROM cost_summaries WHERE tenant_id = 't1' AND day = '2026-09-01';
UPDATE cost_summaries SET tenant_id = 't9' WHERE tenant_id = 't2' AND day BETWEEN '2026-09-20' AND '2026-09-26';
-- in-day rows (not final) never reach cost_months
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, events, final)
VALUES ('t0', '2026-09-30', 'task', 'open-task', 5, 1, false);
SQL
expect_eq "cost_months after upserts, updates, deletes and moves" "$(months_diff)" 0
expect_eq "an un-finalised day lost its bit" \
  "$(q "$IT_URL" "SELECT (days >> 13) & 7 FROM cost_months WHERE tenant_id = 't0'
                  AND month = '2026-08-01' AND dimension = 'total'")" 0
# Put t9 back, so that every tenant row is visible below.
q "$IT_URL" "UPDATE cost_summaries SET tenant_id = 't2' WHERE tenant_id = 't9'" >/dev/null
expect_eq "cost_months after moving rows back" "$(months_diff)" 0
q "$IT_ADMIN_URL" "CREATE TABLE keep AS SELECT * FROM cost_summaries" >/dev/null
q "$IT_ADMIN_URL" "TRUNCATE cost_summaries" >/dev/null
expect_eq "truncate empties cost_months" "$(q "$IT_URL" "SELECT count(*) FROM cost_months")" 0
q "$IT_ADMIN_URL" "INSERT INTO cost_summaries SELECT * FROM keep; DROP TABLE keep" >/dev/null
expect_eq "cost_months after the reload" "$(months_diff)" 0

# 2. The reporter's range reads.
ADMIN=$("$fleetcost" key create --pg-url "$IT_URL" --admin 2>/dev/null)
KEY_T1=$("$fleetcost" key create --pg-url "$IT_URL" --tenant t1 2>/dev/null)
[ -n "$ADMIN" ] && [ -n "$KEY_T1" ] || it_die "key create failed"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$reporter" --insecure --aggregator-pub "" --http-port "$port" --pg-reader-url "$IT_READER_URL" \
  2>"$IT_TMP/reporter.log" &
rpid=$!
trap 'kill $rpid 2>/dev/null; it_cleanup' EXIT
deadline=$((SECONDS + 60))
until curl -sf "$base/healthz" -o /dev/null; do
  [ $SECONDS -ge $deadline ] && it_die "reporter did not start"
  sleep 0.05
done

# api_rows <key> <group> <from> <to> [tenant]: "tenant|key|cost|input|events" lines, sorted,
# from the CSV of /api/v1/costs (columns found by their header names).
api_rows() {
  local key=$1 group=$2 from=$3 to=$4 tenant=${5:-}
  curl -sf -H "Authorization: Bearer $key" \
    "$base/api/v1/costs?group=$group&from=$from&to=$to&format=csv${tenant:+&tenant=$tenant}" |
    awk -F, -v g="$group" '
      NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
      { t = ("tenant" in col) ? $col["tenant"] : ""; k = $1
        if (g == "tenant") { t = $1; k = "" }
        print t "|" k "|" $col["cost_nusd"] "|" $col["input_tokens"] "|" $col["events"] }' |
    sort
}
# sql_rows <dimension> <from> <to> [tenant]: the same from the final daily rows.
sql_rows() {
  local dim=$1 from=$2 to=$3 tenant=${4:-}
  local k="key" t="tenant_id"
  [ "$dim" = agent_type ] && t="''"
  [ "$dim" = total ] && k="''"
  q "$IT_URL" "SELECT t || '|' || k || '|' || sum(cost_nusd) || '|' || sum(input_tokens)
                      || '|' || sum(events)
                 FROM (SELECT $t AS t, $k AS k, cost_nusd, input_tokens, events
                         FROM cost_summaries
                        WHERE final AND dimension = '$dim' AND day BETWEEN '$from' AND '$to'
                          ${tenant:+AND tenant_id = '$tenant'}) x
                GROUP BY t, k" | sort
}
ranges="2026-07-01:2026-07-31 2026-07-03:2026-07-31 2026-07-01:2026-07-29 2026-07-14:2026-08-16
2026-06-20:2026-08-10 2026-08-31:2026-09-01 2026-06-01:2026-09-30 2026-07-15:2026-07-15
2026-06-29:2026-07-28 2026-08-02:2026-09-30 2026-06-05:2026-06-25 2026-05-20:2026-06-03
2026-09-17:2026-10-12 2026-08-10:2026-08-24"
for r in $ranges; do
  from=${r%:*} to=${r#*:}
  for spec in tenant:total task:task agent_type:agent_type; do
    group=${spec%:*} dim=${spec#*:}
    api=$(api_rows "$ADMIN" "$group" "$from" "$to")
    sql=$(sql_rows "$dim" "$from" "$to")
    check "costs by $group, $from..$to: API = SQL ($(echo "$sql" | grep -c .) rows)" \
      test -n "$sql" -a "$api" = "$sql"
  done
done

# Rows change under a month that is read through cost_months.
q "$IT_URL" "UPDATE cost_summaries SET cost_nusd = cost_nusd + 1000 WHERE day = '2026-08-05' AND dimension = 'task'" >/dev/null
api=$(api_rows "$ADMIN" task 2026-08-02 2026-08-31)
sql=$(sql_rows task 2026-08-02 2026-08-31)
check "costs by task after a repriced day: API = SQL" test -n "$sql" -a "$api" = "$sql"

# A tenant key: its own months only, whatever it asks.
api=$(api_rows "$KEY_T1" tenant 2026-06-01 2026-09-30)
sql=$(sql_rows total 2026-06-01 2026-09-30 t1)
check "tenant key t1, whole span: only t1, = SQL" test -n "$sql" -a "$api" = "$sql"
expect_eq "tenant key t1 under RLS sees only its cost_months rows" \
  "$(psql -X -q -At "$IT_READER_URL" -c "BEGIN" -c "SELECT set_config('fleetcost.tenant', 't1', true)" \
       -c "SELECT count(DISTINCT tenant_id) || ':' || min(tenant_id) FROM cost_months" -c "COMMIT" |
     sed -n 2p)" "1:t1"

# 3. The dashboard reads today's in-day rollup (not final), reports do not.
today=$(date -u +%F)
q "$IT_URL" - >/dev/null <<SQL || it_die "in-day rows failed"
INSERT INTO cost_summaries (tenant_id, day, dimension, key, cost_nusd, billed_nusd, events, final)
VALUES ('t0', '$today', 'total', '', 123456789, 123456789, 9, false),
       ('t0', '$today', 'task', 'today-task', 123456789, 123456789, 9, false),
       ('t0', '$(date -u -d '-1 day' +%F)', 'total', '', 1000, 1000, 1, true);
SQL
want=$(q "$IT_URL" "SELECT sum(cost_nusd) FROM cost_summaries WHERE tenant_id = 't0'
                     AND dimension = 'total' AND day > current_date - 30")
page=$(curl -sf -H "Authorization: Bearer $ADMIN" "$base/dashboard/t0")
expect_eq "dashboard 30-day total includes today's in-day rollup" \
  "$(echo "$page" | grep -o 'data-total-nusd="[0-9]*"' | grep -o '[0-9]*')" "$want"
rep=$(api_rows "$ADMIN" tenant "$(date -u -d '-29 days' +%F)" "$today" t0)
expect_eq "a report over the same days leaves the in-day rollup out (no events)" \
  "$(echo "$rep" | cut -d'|' -f3)" "$(q "$IT_URL" "SELECT sum(cost_nusd) FROM cost_summaries
     WHERE tenant_id = 't0' AND final AND dimension = 'total' AND day > current_date - 30")"
kill -TERM $rpid
wait $rpid
it_done
